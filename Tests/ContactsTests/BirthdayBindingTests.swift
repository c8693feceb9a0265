import CRMContracts
import CRMTestSupport
import Testing

@testable import ContactsService

/// The contact insert is a prepared statement: its parameter types are fixed by its first
/// execution on a connection. A card without a birthday followed by one with a birthday was
/// refused (SQLSTATE 22P03) until the birthday was always bound as text.
@Suite("Contact birthdays on a prepared insert")
struct BirthdayBindingTests {
  @Test func cardsWithAndWithoutBirthdaysAlternateOnOneConnection() async throws {
    try await ContactsHarness.with { context in
      for index in 0..<6 {
        var request = contactRequest("Проба Датова \(index)", phones: ["+7912000010\(index)"])
        if index % 2 == 1 {
          request.birthday = .with {
            $0.year = 1970
            $0.month = 3
            $0.day = Int32(10 + index)
          }
        }
        let contact = try await context.contacts.createContact(request)
        #expect(contact.hasBirthday == (index % 2 == 1))
      }
      #expect(try await context.count("SELECT count(*)::int FROM contacts WHERE birthday IS NOT NULL") == 3)
    }
  }
}
