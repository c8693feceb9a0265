import CRMContracts
import CRMDomain
import CRMPhoneNumbers
import CRMRuntime
import Testing

@testable import ContactsService

/// Normalisation and validation of what clients type into cards (pure logic).
@Suite("Card input")
struct CardInputTests {
  @Test(arguments: [
    ("8 (912) 345-67-89", "+79123456789"),
    ("+7 912 3456789", "+79123456789"),
    ("89123456789", "+79123456789"),
    ("+7 (912) 345 67 89", "+79123456789"),
    ("8-912-345-67-89", "+79123456789"),
    ("+375 29 123-45-67", "+375291234567"),
    ("+1 (650) 253-0000", "+16502530000"),
  ])
  func phonesNormaliseToE164(_ raw: String, _ expected: String) {
    #expect(PhoneNumber.e164(raw) == expected)
  }

  @Test(arguments: ["12345", "", "not a phone", "+7 912", "8 (000) 000-00-00"])
  func invalidPhonesAreRefused(_ raw: String) {
    #expect(PhoneNumber.e164(raw) == nil)
  }

  @Test(arguments: [
    ("Ivan@Example.COM", "ivan@example.com"),
    ("  anna.petrova@mail.ru ", "anna.petrova@mail.ru"),
  ])
  func emailsAreStoredLowerCase(_ raw: String, _ expected: String) {
    #expect(EmailAddress.normalized(raw) == expected)
  }

  @Test(arguments: [
    "ivan", "ivan@", "@example.com", "ivan@example", "iv an@example.com", "ivan@@example.com", "a..b@x.ru",
  ])
  func malformedEmailsAreRefused(_ raw: String) {
    #expect(EmailAddress.normalized(raw) == nil)
  }

  @Test func searchQueriesAreReadAsPhoneEmailOrName() throws {
    #expect(try SearchQuery.parse("8 (912) 345-67-89") == .phone("+79123456789"))
    #expect(try SearchQuery.parse("Ivan@Example.com") == .email("ivan@example.com"))
    #expect(try SearchQuery.parse("Ёжиков") == .text("ежиков"))
    #expect(throws: InvalidField.self) { try SearchQuery.parse("   ") }
    #expect(throws: InvalidField.self) { try SearchQuery.parse("12345") }
  }

  @Test func aPrefixRangeEndsAtTheLastCharactersSuccessor() {
    #expect(NameSearch.upperBound(of: "петро") == "петрп")
    #expect(NameSearch.upperBound(of: "smith") == "smiti")
    #expect(NameSearch.upperBound(of: "a\u{D7FF}") == "a\u{E000}", "surrogates are not characters")
    #expect(NameSearch.upperBound(of: "b\u{10FFFF}") == "c", "the last character has no successor")
    #expect(NameSearch.upperBound(of: "\u{10FFFF}") == nil)
    // Everything starting with the text lies in [text, bound) in byte order.
    for name in ["петров", "петро", "петро ", "петрович иван"] {
      #expect(Array(name.utf8).lexicographicallyPrecedes(Array("петрп".utf8)))
      #expect(!Array(name.utf8).lexicographicallyPrecedes(Array("петро".utf8)))
    }
  }

  @Test func cardFieldsAreCheckedAndNamed() {
    func reason(_ request: Crm_Contacts_V1_CreateContactRequest) -> String? {
      do {
        _ = try ContactCardInput.validate(request)
        return nil
      } catch {
        return error.field
      }
    }
    #expect(reason(contactRequest("")) == "name")
    #expect(reason(contactRequest(String(repeating: "я", count: 201))) == "name")
    #expect(reason(contactRequest("Иван", phones: ["12345"])) == "phones[0].number")
    #expect(reason(contactRequest("Иван", emails: ["x@y.ru", "nope"])) == "emails[1].address")
    var future = contactRequest("Иван")
    future.birthday = .with {
      $0.year = 2999
      $0.month = 1
      $0.day = 1
    }
    #expect(reason(future) == "birthday")
    var invalidDate = contactRequest("Иван")
    invalidDate.birthday = .with {
      $0.year = 1990
      $0.month = 2
      $0.day = 30
    }
    #expect(reason(invalidDate) == "birthday")
    var noOwner = contactRequest("Иван")
    noOwner.ownerID = ""
    #expect(reason(noOwner) == "owner_id")
    // A newer client's field 127 (varint 1) after a valid card.
    let bytes: [UInt8] = (try? contactRequest("Иван").serializedBytes()) ?? []
    let unknownField = try? Crm_Contacts_V1_CreateContactRequest(serializedBytes: bytes + [0xF8, 0x07, 0x01])
    #expect(unknownField.map(reason) == "request")
  }

  @Test func historyKeepsOnlyChangedFields() {
    var old = Crm_Contacts_V1_Contact()
    old.name = "Иван Петров"
    old.position = "инженер"
    var new = old
    new.position = "главный инженер"
    new.phones = [.with { $0.number = "+79123456789" }]
    let changes = CardChanges.between(CardChanges.fields(old), CardChanges.fields(new))
    #expect(
      changes == [
        CardChange(field: "phones", old: "", new: "+79123456789"),
        CardChange(field: "position", old: "инженер", new: "главный инженер"),
      ])
  }
}
