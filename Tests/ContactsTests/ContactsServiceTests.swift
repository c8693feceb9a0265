import CRMContracts
import CRMTestSupport
import Foundation
import GRPCCore
import PostgresNIO
import Testing

@testable import ContactsService

/// The contacts service's rules against the real PostgreSQL.
@Suite("Contacts service")
struct ContactsServiceTests {
  @Test func everyPhoneFormFindsTheOneContactAndDuplicatesAreRefused() async throws {
    try await ContactsHarness.with { context in
      let contacts = context.contacts
      let created = try await contacts.createContact(
        contactRequest("Иван Петров", phones: ["8 (912) 345-67-89"], emails: ["Ivan.Petrov@Example.COM"]))
      #expect(created.phones.map(\.number) == ["+79123456789"])
      #expect(created.emails.map(\.address) == ["ivan.petrov@example.com"])
      #expect(created.version == 1)

      for form in ["8 (912) 345-67-89", "+7 912 3456789", "89123456789"] {
        let hits = try await contacts.searchContacts(.with { $0.query = form }).hits
        #expect(hits.map(\.contact.id) == [created.id], "searching \(form)")
        #expect(hits.first?.matchedOn == "phone")
      }
      #expect(
        try await contacts.searchContacts(.with { $0.query = "IVAN.PETROV@example.com" }).hits.map(\.contact.id)
          == [created.id])

      // The same phone in another form, or the same e-mail: ALREADY_EXISTS naming the card.
      let samePhone = contactRequest("И. Петров", phones: ["+7 912 3456789"])
      #expect(await statusCode { try await contacts.createContact(samePhone) } == .alreadyExists)
      #expect(await failure { try await contacts.createContact(samePhone) }.contains(created.id))
      let sameEmail = contactRequest("Другой", emails: ["ivan.petrov@example.com"])
      #expect(await statusCode { try await contacts.createContact(sameEmail) } == .alreadyExists)
      #expect(try await context.count("SELECT count(*) FROM contacts") == 1, "nothing written")

      // force: created, and the override is in the new card's history.
      var forced = samePhone
      forced.force = true
      let second = try await contacts.createContact(forced)
      let history = try await contacts.getCardHistory(.with { $0.cardID = second.id }).changes
      #expect(history.contains { $0.field == "duplicate_forced" && $0.newValue.contains(created.id) })
      #expect(try await context.events("crm.contacts.v1.ContactCreated").count == 2)
    }
  }

  @Test func twentyConcurrentCreatesOfOnePhoneMakeOneCard() async throws {
    try await ContactsHarness.with { context in
      let contacts = context.contacts
      let codes = try await withThrowingTaskGroup(of: RPCError.Code?.self) { group in
        for i in 0..<20 {
          // The same number typed three ways.
          let form = ["8 (913) 555-01-02", "+7 913 5550102", "89135550102"][i % 3]
          group.addTask {
            await statusCode { try await contacts.createContact(contactRequest("Гонка \(i)", phones: [form])) }
          }
        }
        var codes: [RPCError.Code?] = []
        for try await code in group { codes.append(code) }
        return codes
      }
      #expect(codes.filter { $0 == nil }.count == 1, "\(codes)")
      #expect(codes.filter { $0 == .alreadyExists }.count == 19)
      #expect(try await context.count("SELECT count(*) FROM contacts") == 1)
      #expect(try await context.events("crm.contacts.v1.ContactCreated").count == 1)
    }
  }

  @Test func aPhoneBelongsToTheOldestActiveCardAndPassesOnWhenItLeaves() async throws {
    try await ContactsHarness.with { context in
      let contacts = context.contacts
      func refusal(_ request: Crm_Contacts_V1_CreateContactRequest) async -> String {
        await failure { try await contacts.createContact(request) }
      }
      let first = try await contacts.createContact(
        contactRequest("Анна Первая", phones: ["89140000001"], emails: ["anna@example.com"]))
      var forced = contactRequest("Анна Вторая", phones: ["+7 914 000-00-01"])
      forced.force = true
      let second = try await contacts.createContact(forced)
      let third = contactRequest("Анна Третья", phones: ["89140000001"])
      #expect(await refusal(third).contains(first.id), "the oldest card is named")

      // The first card archived: the forced duplicate, still active, now holds the phone; the
      // e-mail, on no other card, is free.
      _ = try await contacts.archiveContact(
        .with {
          $0.contactID = first.id
          $0.expectedVersion = 1
        })
      #expect(await refusal(third).contains(second.id))
      let sameEmail = try await contacts.createContact(contactRequest("Анна Почта", emails: ["ANNA@example.com"]))
      #expect(sameEmail.emails.map(\.address) == ["anna@example.com"])

      // The second card changes its number: the old one is free, the new one is held.
      _ = try await contacts.updateContact(
        .with {
          $0.contactID = second.id
          $0.expectedVersion = 1
          $0.card = contactRequest("Анна Вторая", phones: ["89140000002"])
        })
      let created = try await contacts.createContact(third)
      #expect(created.phones.map(\.number) == ["+79140000001"])
      #expect(await refusal(contactRequest("Анна Четвёртая", phones: ["89140000002"])).contains(second.id))
      // Three identities, each held by one active card.
      #expect(
        try await context.count(
          "SELECT count(*) FROM contact_claims cl JOIN contacts c ON c.id = cl.contact_id WHERE NOT c.archived") == 3)
      #expect(try await context.count("SELECT count(*) FROM contact_claims") == 3)
    }
  }

  @Test func badInputIsRefusedNamingTheFieldAndWritesNothing() async throws {
    try await ContactsHarness.with { (context: ContactsHarness.Context) async throws in
      let contacts = context.contacts
      let cases: [(Crm_Contacts_V1_CreateContactRequest, String)] = [
        (contactRequest(""), "name"),
        (contactRequest(String(repeating: "x", count: 201)), "name"),
        (contactRequest("Анна", phones: ["12-34"]), "phones[0].number"),
        (contactRequest("Анна", emails: ["anna@"]), "emails[0].address"),
        (
          {
            var request = contactRequest("Анна")
            request.birthday = .with {
              $0.year = 2100
              $0.month = 1
              $0.day = 1
            }
            return request
          }(), "birthday"
        ),
        (
          {
            var request = contactRequest("Анна")
            request.companies = [.with { $0.companyID = "not-an-id" }]
            return request
          }(), "companies[0].company_id"
        ),
      ]
      for (request, field) in cases {
        #expect(await statusCode { try await contacts.createContact(request) } == .invalidArgument)
        #expect(await failure { try await contacts.createContact(request) }.hasPrefix(field + ":"))
      }
      var unknownCompany = contactRequest("Анна")
      unknownCompany.companies = [.with { $0.companyID = UUID().uuidString }]
      #expect(await statusCode { try await contacts.createContact(unknownCompany) } == .notFound)
      #expect(
        await statusCode { try await contacts.getContact(.with { $0.contactID = UUID().uuidString }) } == .notFound)
      #expect(
        await statusCode {
          try await contacts.searchContacts(
            .with {
              $0.query = "а"
              $0.page.pageSize = 101
            })
        }
          == .invalidArgument)
      #expect(
        await statusCode {
          try await contacts.createLead(
            .with {
              $0.name = "Лид"
              $0.ownerID = "m"
            })
        } == .invalidArgument)
      #expect(try await context.count("SELECT count(*) FROM contacts") == 0)
      #expect(try await context.count("SELECT count(*) FROM leads") == 0)
      #expect(try await context.count("SELECT count(*) FROM outbox") == 0, "no event")
    }
  }

  @Test func updatesNeedTheCurrentVersionAndEveryChangeIsInHistory() async throws {
    try await ContactsHarness.with(caller: "manager:manager-7") { context in
      let contacts = context.contacts
      let created = try await contacts.createContact(
        contactRequest("Ольга Смирнова", phones: ["89123450001"], owner: "manager-7"))
      var card = contactRequest("Ольга Смирнова", phones: ["89123450001", "+7 912 345-00-02"], owner: "manager-7")
      card.position = "главный бухгалтер"
      let updated = try await contacts.updateContact(
        .with {
          $0.contactID = created.id
          $0.expectedVersion = 1
          $0.card = card
        })
      #expect(updated.version == 2)
      #expect(updated.phones.map(\.number) == ["+79123450001", "+79123450002"])

      // A stale version: ABORTED with the current one, nothing changed.
      card.position = "директор"
      let stale: Crm_Contacts_V1_UpdateContactRequest = .with {
        $0.contactID = created.id
        $0.expectedVersion = 1
        $0.card = card
      }
      #expect(await statusCode { try await contacts.updateContact(stale) } == .aborted)
      #expect(await failure { try await contacts.updateContact(stale) }.contains("version 2"))
      #expect(try await contacts.getContact(.with { $0.contactID = created.id }).position == "главный бухгалтер")

      let history = try await contacts.getCardHistory(.with { $0.cardID = created.id }).changes
      let updates = history.filter { $0.oldValue != "" }
      #expect(updates.map(\.field) == ["phones"])
      let position = history.last { $0.field == "position" }
      #expect(position?.oldValue == "" && position?.newValue == "главный бухгалтер")
      #expect(history.allSatisfy { $0.actor == "manager:manager-7" })
      let event = try #require(try await context.events("crm.contacts.v1.ContactUpdated").first)
      let payload = try Crm_Contacts_V1_ContactUpdated(serializedBytes: event.payload)
      #expect(Set(payload.changes.map(\.field)) == ["phones", "position"])
      #expect(event.actor == "manager:manager-7")

      let archived = try await contacts.archiveContact(
        .with {
          $0.contactID = created.id
          $0.expectedVersion = 2
        })
      #expect(archived.archived && archived.version == 3)
      #expect(try await context.events("crm.contacts.v1.ContactArchived").count == 1)
      #expect(try await contacts.searchContacts(.with { $0.query = "89123450001" }).hits.isEmpty)
      #expect(
        try await contacts.searchContacts(
          .with {
            $0.query = "89123450001"
            $0.includeArchived = true
          }
        ).hits.count == 1)
    }
  }

  @Test func nameSearchIsCaseInsensitiveTypoTolerantAndRanked() async throws {
    try await ContactsHarness.with { context in
      let contacts = context.contacts
      for name in [
        "Петров Иван", "Петровский Олег", "Иван Петров-Водкин", "Сидоров Пётр", "John Smith", "Smithson Anna",
      ] {
        _ = try await contacts.createContact(contactRequest(name))
      }
      let company = try await contacts.createCompany(
        .with {
          $0.name = "ООО Прицепы Урала"
          $0.ownerID = "manager-1"
        })
      var member = contactRequest("Мария Козлова")
      member.companies = [
        .with {
          $0.companyID = company.id
          $0.role = "decision maker"
        }
      ]
      _ = try await contacts.createContact(member)

      func names(_ query: String) async throws -> [String] {
        try await contacts.searchContacts(.with { $0.query = query }).hits.map(\.contact.name)
      }
      let petrov = try await names("петров")
      #expect(petrov.first == "Петров Иван", "whole word first: \(petrov)")
      #expect(Set(petrov).isSuperset(of: ["Петровский Олег", "Иван Петров-Водкин"]))
      // "Пётр" is close to "петров" (a typo away): found, but after every Petrov.
      #expect(petrov.firstIndex(of: "Сидоров Пётр").map { $0 >= 3 } ?? true, "\(petrov)")
      #expect(try await names("ПИТРОВ").contains("Петров Иван"), "one typo")
      #expect(try await names("петр").contains("Сидоров Пётр"), "ё read as е")
      #expect(try await names("smith").first == "John Smith")
      #expect(try await names("SMTIH").contains("John Smith"))
      // The name's start before a later word's start; a later word after a hyphen counts.
      #expect(try await names("ива").prefix(2) == ["Иван Петров-Водкин", "Петров Иван"])
      #expect(try await names("водк") == ["Иван Петров-Водкин"])
      let byCompany = try await contacts.searchContacts(.with { $0.query = "прицепы урала" }).hits
      #expect(byCompany.map(\.contact.name) == ["Мария Козлова"])
      #expect(byCompany.first?.matchedOn == "company")

      // Pages: two by two through every hit for "петров", no repeats.
      var seen: [String] = []
      var token = ""
      repeat {
        let page = try await contacts.searchContacts(
          .with {
            $0.query = "петров"
            $0.page.pageSize = 2
            $0.page.pageToken = token
          })
        seen += page.hits.map(\.contact.id)
        token = page.nextPageToken
      } while !token.isEmpty
      #expect(seen.count == petrov.count && Set(seen).count == seen.count)
    }
  }

  @Test func leadsConvertOnceAndRejectWithAReason() async throws {
    try await ContactsHarness.with { context in
      let contacts = context.contacts
      let lead = try await contacts.createLead(
        .with {
          $0.name = "Алексей"
          $0.phone = "8 912 111 22 33"
          $0.source = "site"
          $0.ownerID = "manager-1"
          $0.businessLine = "trailers"
        })
      #expect(lead.status == .open && lead.phone == "+79121112233")
      let reply = try await contacts.convertLead(
        .with {
          $0.leadID = lead.id
          $0.companyName = "ИП Алексеев"
          $0.pipelineID = "trailers-sales"
          $0.expectedVersion = lead.version
        })
      #expect(reply.lead.status == .converted && reply.lead.contactID == reply.contact.id)
      #expect(reply.contact.phones.map(\.number) == ["+79121112233"])
      #expect(reply.contact.companies.map(\.companyID) == [reply.company.id])

      let again: Crm_Contacts_V1_ConvertLeadRequest = .with {
        $0.leadID = lead.id
        $0.pipelineID = "trailers-sales"
        $0.expectedVersion = reply.lead.version
      }
      #expect(await statusCode { try await contacts.convertLead(again) } == .failedPrecondition)
      let converted = try await context.events("crm.contacts.v1.LeadConverted")
      #expect(converted.count == 1)
      let payload = try Crm_Contacts_V1_LeadConverted(serializedBytes: converted[0].payload)
      #expect(payload.pipelineID == "trailers-sales" && payload.contactID == reply.contact.id)

      // A second lead of the same person joins the existing card instead of duplicating it.
      let returning = try await contacts.createLead(
        .with {
          $0.name = "Алексей"
          $0.phone = "+79121112233"
          $0.ownerID = "manager-2"
        })
      let joined = try await contacts.convertLead(
        .with {
          $0.leadID = returning.id
          $0.pipelineID = "attachments"
          $0.expectedVersion = returning.version
        })
      #expect(joined.contact.id == reply.contact.id)
      #expect(try await context.count("SELECT count(*) FROM contacts") == 1)

      let rejected = try await contacts.createLead(
        .with {
          $0.name = "Спам"
          $0.email = "spam@example.com"
          $0.ownerID = "manager-1"
        })
      let done = try await contacts.rejectLead(
        .with {
          $0.leadID = rejected.id
          $0.reason = "not a buyer"
          $0.expectedVersion = rejected.version
        })
      #expect(done.status == .rejected && done.rejectionReason == "not a buyer")
      let open = try await contacts.listLeads(.with { $0.status = .rejected }).leads
      #expect(open.map(\.id) == [rejected.id])
      #expect(try await context.events("crm.contacts.v1.LeadCreated").count == 3)
      #expect(try await context.events("crm.contacts.v1.LeadRejected").count == 1)
    }
  }

  @Test func birthdaysOfADayIncludeLeapDayBirthsInOtherYears() async throws {
    try await ContactsHarness.with { context in
      let contacts = context.contacts
      func born(_ name: String, _ year: Int32, _ month: Int32, _ day: Int32) async throws {
        var request = contactRequest(name)
        request.birthday = .with {
          $0.year = year
          $0.month = month
          $0.day = day
        }
        _ = try await contacts.createContact(request)
      }
      try await born("Високосный", 1988, 2, 29)
      try await born("Обычный", 1990, 2, 28)
      try await born("Мартовский", 1985, 3, 1)
      func names(_ year: Int32, _ month: Int32, _ day: Int32) async throws -> Set<String> {
        Set(
          try await contacts.listBirthdays(
            .with {
              $0.date = .with {
                $0.year = year
                $0.month = month
                $0.day = day
              }
            }
          ).contacts.map(\.name))
      }
      #expect(try await names(2027, 2, 28) == ["Високосный", "Обычный"])
      #expect(try await names(2028, 2, 28) == ["Обычный"])
      #expect(try await names(2028, 2, 29) == ["Високосный"])
      #expect(try await names(2027, 3, 1) == ["Мартовский"])
      #expect(
        await statusCode {
          try await contacts.listBirthdays(
            .with {
              $0.date = .with {
                $0.year = 2027
                $0.month = 2
                $0.day = 29
              }
            })
        } == .invalidArgument)
    }
  }
}
