import CRMDomain
import CRMEvents
import CRMPhoneNumbers
import Foundation

/// What a search box text asks for: a phone in any form, an e-mail, or a name / company
/// fragment.
enum SearchQuery: Equatable {
  case phone(String)
  case email(String)
  /// Lower-cased, `ё` read as `е` (as the stored names are).
  case text(String)

  static func parse(_ raw: String) throws(InvalidField) -> SearchQuery {
    let query = try Text.field(raw, "query", limit: CardLimits.nameLength, required: true)
    if query.contains("@") {
      guard let address = EmailAddress.normalized(query) else {
        throw InvalidField(field: "query", reason: "\"\(query)\" is neither an e-mail address nor a name")
      }
      return .email(address)
    }
    let phoneCharacters = CharacterSet(charactersIn: "+0123456789()- .")
    if query.unicodeScalars.allSatisfy(phoneCharacters.contains) && query.contains(where: \.isNumber) {
      guard let number = PhoneNumber.e164(query) else {
        throw InvalidField(field: "query", reason: "\"\(query)\" looks like a phone number but is not a valid one")
      }
      return .phone(number)
    }
    return .text(searchable(query))
  }

  /// The words of a name in searchable form ("Петров-Водкин Иван" → петров, водкин, иван).
  static func words(_ name: String) -> [String] {
    searchable(name).split(whereSeparator: { !($0.isLetter || $0.isNumber) }).map(String.init)
  }

  /// The form names are compared in.
  static func searchable(_ name: String) -> String {
    name.lowercased().replacingOccurrences(of: "ё", with: "е")
  }
}
