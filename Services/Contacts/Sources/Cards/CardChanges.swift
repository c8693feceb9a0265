import CRMContracts
import Foundation

/// One changed field of a card, as the history keeps it: who, field, old → new.
struct CardChange: Equatable {
  var field: String
  var old: String
  var new: String
}

/// The fields of cards as history text, and the differences between two versions of a card.
enum CardChanges {
  static func fields(_ card: Crm_Contacts_V1_Contact) -> [(String, String)] {
    [
      ("name", card.name),
      ("phones", text(card.phones)),
      ("emails", text(card.emails)),
      ("position", card.position),
      ("address", card.address),
      ("birthday", card.hasBirthday ? Birthday.text(card.birthday) : ""),
      ("owner_id", card.ownerID),
      ("notes", card.notes),
      ("tags", card.tags.joined(separator: ", ")),
      ("attributes", text(card.attributes)),
      ("companies", card.companies.map { "\($0.companyID) (\($0.role))" }.joined(separator: "; ")),
      ("archived", card.archived ? "true" : ""),
    ]
  }

  static func fields(_ card: Crm_Contacts_V1_Company) -> [(String, String)] {
    [
      ("name", card.name),
      ("phones", text(card.phones)),
      ("emails", text(card.emails)),
      ("address", card.address),
      ("owner_id", card.ownerID),
      ("notes", card.notes),
      ("attributes", text(card.attributes)),
    ]
  }

  static func text(_ phones: [Crm_Contacts_V1_Phone]) -> String {
    phones.map { $0.label.isEmpty ? $0.number : "\($0.number) (\($0.label))" }.joined(separator: "; ")
  }

  static func text(_ emails: [Crm_Contacts_V1_Email]) -> String {
    emails.map { $0.label.isEmpty ? $0.address : "\($0.address) (\($0.label))" }.joined(separator: "; ")
  }

  static func text(_ attributes: [String: String]) -> String {
    attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
  }

  /// Fields whose text differs; a new card is the difference from an empty one.
  static func between(_ old: [(String, String)]?, _ new: [(String, String)]) -> [CardChange] {
    let before = Dictionary(old ?? [], uniquingKeysWith: { first, _ in first })
    return new.compactMap { field, value in
      let previous = before[field] ?? ""
      return previous == value ? nil : CardChange(field: field, old: previous, new: value)
    }
  }
}
