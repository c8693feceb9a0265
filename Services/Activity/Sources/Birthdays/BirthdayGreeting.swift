import CRMContracts
import CRMDomain
import CRMMail
import Foundation

/// What a birthday gets, decided from the contact's card alone (pure): a greeting e-mail to
/// its first address, else a postcard to its postal address, both by the card's owner, who is
/// also reminded to call.
struct BirthdayGreeting: Sendable, Equatable {
  enum Channel: String, Sendable {
    /// Sent through the SMTP server.
    case email
    /// The service has no SMTP server: the greeting is recorded as an activity only.
    case recorded
    /// No usable address: the owner is asked to send a postcard.
    case postcard
  }

  var contactID: UUID
  var name: String
  var owner: String
  var address: MailAddress?
  var postalAddress: String

  /// Nil when the card names no valid contact id (nothing to greet).
  init?(_ contact: Crm_Contacts_V1_Contact) {
    guard let id = UUID(uuidString: contact.id) else { return nil }
    contactID = id
    name = Self.clean(contact.name, limit: 100)
    owner = Self.clean(contact.ownerID, limit: 64)
    address = contact.emails.lazy.compactMap { try? MailAddress.parse($0.address).get() }.first
    postalAddress = Self.clean(contact.address, limit: 500)
  }

  func channel(smtp: Bool) -> Channel {
    guard address != nil else { return .postcard }
    return smtp ? .email : .recorded
  }

  var subject: String { name.isEmpty ? "С днём рождения!" : "С днём рождения, \(name)!" }

  func body(signature: String) -> String {
    """
    \(name.isEmpty ? "Добрый день" : "\(name), добрый день")!

    Поздравляем Вас с днём рождения! Желаем здоровья, успехов, удачных сделок и хороших дорог.

    С уважением,
    \(signature.isEmpty ? "отдел продаж" : signature)
    """
  }

  var reminderTitle: String { Self.cut("Поздравить с днём рождения: \(name.isEmpty ? "клиент" : name)") }

  var postcardTitle: String {
    Self.cut(
      "Отправить открытку ко дню рождения: \(name.isEmpty ? "клиент" : name), адрес: "
        + (postalAddress.isEmpty ? "не указан в карточке" : postalAddress))
  }

  /// A task title within the task limit, cut with an ellipsis.
  static func cut(_ text: String) -> String {
    text.count <= TaskInput.titleLength ? text : String(text.prefix(TaskInput.titleLength - 1)) + "…"
  }

  /// One line of what a text may hold (the card's text comes from another service's events).
  static func clean(_ text: String, limit: Int) -> String {
    let kept = text.unicodeScalars.map { Text.allowed($0, multiline: false) ? Character($0) : " " }
    return String(String(kept).trimmingCharacters(in: .whitespaces).prefix(limit))
  }
}
