import CRMContracts
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Testing

@testable import ContactsService

/// What a hostile client sends the contacts service: forged page tokens, control characters,
/// oversized callers, the same create twice. Each is refused precisely or changes nothing.
@Suite("Contacts service: hostile input")
struct ContactsHostileInputTests {
  /// Regression: the token base64("c:9223372036854775807") crashed the service (offset + limit
  /// overflowed in the name search). Tokens are sealed now; that one is simply not a token.
  @Test func aForgedOrForeignPageTokenIsRefused() async throws {
    try await ContactsHarness.with { (context: ContactsHarness.Context) async throws in
      let contacts = context.contacts
      for index in 1...3 {
        _ = try await contacts.createContact(contactRequest("Петров \(index)", phones: ["8912000000\(index)"]))
      }
      let overflow = Data("c:9223372036854775807".utf8).base64EncodedString()
      func search(_ token: String) async -> (RPCError.Code?, String) {
        let request = Crm_Contacts_V1_SearchContactsRequest.with {
          $0.query = "петров"
          $0.page.pageSize = 2
          $0.page.pageToken = token
        }
        return (
          await statusCode { try await contacts.searchContacts(request) },
          await failure { try await contacts.searchContacts(request) }
        )
      }
      let (code, message) = await search(overflow)
      #expect(code == .invalidArgument)
      #expect(message.hasPrefix("page.page_token:"))

      // A real token pages on; the same token changed in one character is refused.
      let first = try await contacts.searchContacts(
        .with {
          $0.query = "петров"
          $0.page.pageSize = 2
        })
      #expect(first.hits.count == 2)
      #expect(!first.nextPageToken.isEmpty)
      let second = try await contacts.searchContacts(
        .with {
          $0.query = "петров"
          $0.page.pageSize = 2
          $0.page.pageToken = first.nextPageToken
        })
      #expect(second.hits.count == 1 && second.nextPageToken.isEmpty)
      #expect(Set(first.hits.map(\.contact.id) + second.hits.map(\.contact.id)).count == 3)
      var forged = Array(first.nextPageToken)
      forged[2] = forged[2] == "A" ? "B" : "A"
      #expect(await search(String(forged)).0 == .invalidArgument)

      // A token of another method is not this method's.
      _ = try await contacts.createLead(
        .with {
          $0.name = "Лид"
          $0.phone = "89120000009"
          $0.ownerID = "m"
        })
      _ = try await contacts.createLead(
        .with {
          $0.name = "Лид 2"
          $0.phone = "89120000008"
          $0.ownerID = "m"
        })
      let leads = try await contacts.listLeads(.with { $0.page.pageSize = 1 })
      #expect(!leads.nextPageToken.isEmpty)
      #expect(await search(leads.nextPageToken).0 == .invalidArgument)
      #expect(
        try await contacts.listLeads(
          .with {
            $0.page.pageSize = 1
            $0.page.pageToken = leads.nextPageToken
          }
        ).leads.count == 1)
    }
  }

  @Test func controlAndBidiCharactersAreRefusedNamingTheField() async throws {
    try await ContactsHarness.with { (context: ContactsHarness.Context) async throws in
      let contacts = context.contacts
      var notesWithOverride = contactRequest("Анна")
      notesWithOverride.notes = "оплата \u{202E}00.001\u{202C} руб"
      var positionWithNUL = contactRequest("Анна")
      positionWithNUL.position = "директор\u{0}"
      let zalgo = "А" + String(repeating: "\u{0301}", count: 1_000)
      let cases: [(Crm_Contacts_V1_CreateContactRequest, String)] = [
        (contactRequest("Анна\u{0}Петрова"), "name"),
        (contactRequest("Анна\nПетрова"), "name"),
        (contactRequest("Анна\u{1B}[31m"), "name"),
        (contactRequest(zalgo), "name"),
        (notesWithOverride, "notes"),
        (positionWithNUL, "position"),
      ]
      for (request, field) in cases {
        let message = await failure { try await contacts.createContact(request) }
        #expect(await statusCode { try await contacts.createContact(request) } == .invalidArgument)
        #expect(message.hasPrefix(field + ":"), "\(message)")
      }
      for address in ["a\u{202E}gpj.exe@x.ru", "a" + String(repeating: "\u{0301}", count: 300) + "@x.ru"] {
        let request = contactRequest("Анна", emails: [address])
        #expect(await statusCode { try await contacts.createContact(request) } == .invalidArgument)
        #expect(await failure { try await contacts.createContact(request) }.hasPrefix("emails[0].address:"))
      }
      #expect(
        await statusCode {
          try await contacts.createLead(
            .with {
              $0.name = "Лид\u{0}"
              $0.phone = "89120000001"
              $0.ownerID = "m"
            })
        } == .invalidArgument)
      #expect(try await context.count("SELECT count(*) FROM contacts") == 0)
      #expect(try await context.count("SELECT count(*) FROM leads") == 0)
      #expect(try await context.count("SELECT count(*) FROM outbox") == 0, "no event")

      // Line breaks and tabs belong in long texts.
      var notes = contactRequest("Анна")
      notes.notes = "первая строка\n\tвторая"
      #expect(try await contacts.createContact(notes).notes == "первая строка\n\tвторая")
    }
  }

  /// A request id is copied into rows: more than 128 bytes is refused, and nothing is written.
  /// (Who calls is no metadata entry any more but a verified token: see IdentityTests.)
  @Test func anOversizedRequestIDIsRefused() async throws {
    try await ContactsHarness.with { (context: ContactsHarness.Context) async throws in
      let code = await statusCode {
        try await context.contacts.createContact(
          contactRequest("Анна"), metadata: ["crm-request-id": .string(String(repeating: "r", count: 200))])
      }
      #expect(code == .invalidArgument)
      #expect(try await context.count("SELECT count(*) FROM contacts") == 0)
    }
  }

  /// A client's retry with the same `crm-request-id` gets the first reply; nothing is created
  /// or published twice.
  @Test func aRepeatedCreateAnswersTheFirstReplyAndPublishesOnce() async throws {
    try await ContactsHarness.with { (context: ContactsHarness.Context) async throws in
      let contacts = context.contacts
      let once: Metadata = ["crm-request-id": "retry-1"]
      let first = try await contacts.createContact(contactRequest("Анна", phones: ["89121110000"]), metadata: once)
      let again = try await contacts.createContact(contactRequest("Анна", phones: ["89121110000"]), metadata: once)
      #expect(again == first)
      var forced = contactRequest("Анна", phones: ["89121110000"])
      forced.force = true
      let forcedFirst = try await contacts.createContact(forced, metadata: ["crm-request-id": "retry-2"])
      #expect(try await contacts.createContact(forced, metadata: ["crm-request-id": "retry-2"]) == forcedFirst)
      #expect(forcedFirst.id != first.id)
      #expect(try await context.count("SELECT count(*) FROM contacts") == 2)
      #expect(try await context.events("crm.contacts.v1.ContactCreated").count == 2)

      let company = Crm_Contacts_V1_CreateCompanyRequest.with {
        $0.name = "ООО Прицеп"
        $0.ownerID = "m"
      }
      let firstCompany = try await contacts.createCompany(company, metadata: ["crm-request-id": "company-1"])
      #expect(try await contacts.createCompany(company, metadata: ["crm-request-id": "company-1"]) == firstCompany)
      #expect(try await context.count("SELECT count(*) FROM companies") == 1)

      let leadRequest = Crm_Contacts_V1_CreateLeadRequest.with {
        $0.name = "Лид"
        $0.phone = "89125550000"
        $0.ownerID = "m"
      }
      let lead = try await contacts.createLead(leadRequest, metadata: ["crm-request-id": "lead-1"])
      #expect(try await contacts.createLead(leadRequest, metadata: ["crm-request-id": "lead-1"]) == lead)
      #expect(try await context.count("SELECT count(*) FROM leads") == 1)
      let convert = Crm_Contacts_V1_ConvertLeadRequest.with {
        $0.leadID = lead.id
        $0.pipelineID = "p-1"
        $0.expectedVersion = 1
      }
      let converted = try await contacts.convertLead(convert, metadata: ["crm-request-id": "convert-1"])
      #expect(try await contacts.convertLead(convert, metadata: ["crm-request-id": "convert-1"]) == converted)
      #expect(try await context.events("crm.contacts.v1.LeadConverted").count == 1)
      // Without the request id the repeat is a new request: the lead is converted already.
      #expect(await statusCode { try await contacts.convertLead(convert) } != nil)
    }
  }

  /// A request id used again for a different request is refused (FAILED_PRECONDITION) instead
  /// of answered with the first request's reply; nothing is created or published.
  @Test func aRequestIDUsedAgainForADifferentRequestIsRefused() async throws {
    try await ContactsHarness.with { (context: ContactsHarness.Context) async throws in
      let contacts = context.contacts
      let once: Metadata = ["crm-request-id": "reused-1"]
      let first = try await contacts.createContact(contactRequest("Анна", phones: ["89121110000"]), metadata: once)
      #expect(
        try await contacts.createContact(contactRequest("Анна", phones: ["89121110000"]), metadata: once) == first)
      let other = await statusCode {
        try await contacts.createContact(contactRequest("Борис", phones: ["89121112222"]), metadata: once)
      }
      #expect(other == .failedPrecondition)
      #expect(try await context.count("SELECT count(*) FROM contacts") == 1)
      #expect(try await context.events("crm.contacts.v1.ContactCreated").count == 1)
    }
  }
}
