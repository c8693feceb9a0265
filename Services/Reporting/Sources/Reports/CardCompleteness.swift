import CRMContracts

/// How much of a contact card beyond the mandatory is filled (seed 002: managers who fill only
/// the mandatory fields). Contacts requires a name and an owner (`ContactCardInput`); the
/// optional fields counted are phones, e-mails, position, address, birthday, notes, tags and
/// companies. Free attributes are not counted: they have no fixed set to be complete against.
struct CardCompleteness: Equatable, Sendable {
  static let optionalFields = ["phones", "emails", "position", "address", "birthday", "notes", "tags", "companies"]

  var filled: Int
  var total: Int { Self.optionalFields.count }

  init(_ contact: Crm_Contacts_V1_Contact) {
    let present = [
      !contact.phones.isEmpty, !contact.emails.isEmpty, !Self.blank(contact.position), !Self.blank(contact.address),
      contact.hasBirthday && contact.birthday.month != 0, !Self.blank(contact.notes), !contact.tags.isEmpty,
      !contact.companies.isEmpty,
    ]
    filled = present.filter { $0 }.count
  }

  private static func blank(_ text: String) -> Bool { text.allSatisfy(\.isWhitespace) }
}
