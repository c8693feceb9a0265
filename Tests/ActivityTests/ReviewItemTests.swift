import CRMContracts
import CRMEvents
import CRMRuntime
import CRMTestSupport
import Foundation
import PostgresNIO
import SwiftProtobuf
import Testing

@testable import ActivityService
@testable import QualityControlService

/// Review items (issue 15, item 1): a meeting or call report becomes one item on
/// `crm.qc.review-items` in the transaction that logs it, with codes instead of ids and a text
/// cleared of every name, phone and address the service knows — or withheld.
@Suite("Activity service: review items")
struct ReviewItemTests {
  static let rep = "rep-zz91"
  static let caller = "manager:\(rep)"

  /// A company, its contact (with phones and an e-mail) and another contact of the directory,
  /// as the contacts service announces them; and a deal with the contact.
  struct Seeded {
    var company: String
    var contact: String
    var other: String
    var deal: String
  }

  static let companyName = "Квазарстрой"
  static let contactName = "Евлампий Зюзюкин"
  static let otherName = "Агафья Трындычихина"
  static let email = "e.zyuzyukin@kvazarstroi.example"

  static func seed(_ context: ActivityHarness.Context) async throws -> Seeded {
    let company = UUID().uuidString.lowercased()
    try await context.deliver(
      Crm_Contacts_V1_CompanyCreated.with {
        $0.company.id = company
        $0.company.name = companyName
      }, on: EventTopics.contacts, aggregateID: company)
    let contact = UUID().uuidString.lowercased()
    try await context.deliver(
      Crm_Contacts_V1_ContactCreated.with {
        $0.contact.id = contact
        $0.contact.name = contactName
        $0.contact.ownerID = rep
        $0.contact.phones = [.with { $0.number = "+79123456789" }]
        $0.contact.emails = [.with { $0.address = email }]
        $0.contact.companies = [.with { $0.companyID = company }]
      }, on: EventTopics.contacts, aggregateID: contact)
    let other = UUID().uuidString.lowercased()
    try await context.deliver(
      Crm_Contacts_V1_ContactCreated.with {
        $0.contact.id = other
        $0.contact.name = otherName
        $0.contact.ownerID = "someone-else"
      }, on: EventTopics.contacts, aggregateID: other)
    let deal = try await context.knownDeal(contact: contact, owner: rep)
    return Seeded(company: company, contact: contact, other: other, deal: deal)
  }

  /// The review items in the outbox: topic, key and envelope of each.
  static func items(_ context: ActivityHarness.Context) async throws -> [(
    topic: String, key: String, bytes: [UInt8], envelope: Crm_Events_V1_EventEnvelope,
    item: Crm_Qualitycontrol_V1_ReviewItem
  )] {
    var found: [(String, String, [UInt8], Crm_Events_V1_EventEnvelope, Crm_Qualitycontrol_V1_ReviewItem)] = []
    let rows = try await context.database.query(
      "SELECT topic, key, envelope FROM outbox WHERE type = 'crm.qualitycontrol.v1.ReviewItem' ORDER BY id",
      logger: ActivityHarness.logger)
    for try await (topic, key, buffer) in rows.decode((String, String, ByteBuffer).self) {
      let bytes = Array(buffer: buffer)
      let envelope = try Crm_Events_V1_EventEnvelope(serializedBytes: bytes)
      found.append(
        (topic, key, bytes, envelope, try Crm_Qualitycontrol_V1_ReviewItem(serializedBytes: envelope.payload)))
    }
    return found
  }

  /// Every spelling of what must not cross the wall.
  static func canaries(_ seeded: Seeded) -> [String] {
    let ids = [seeded.company, seeded.contact, seeded.other, seeded.deal]
    return [
      "Зюзюкин", "зюзюкин", "ЗЮЗЮКИН", "Зюзюкину", "Зюзюкиным", "Zyuzyukin", "zyuzyukin", "Евлампи", "Evlampi",
      "Квазарстро", "Kvazarstro", "kvazarstro", "Трындычихин", "Trindichihin", "Агафь", "Agafy", "Agafi",
      "9123456789", "912 345", "912-345", "345-67-89", "345 67 89", "(912)", email, "e.zyuzyukin", "example",
      rep, seeded.contact.uppercased(), seeded.deal.uppercased(),
    ] + ids + ids.map { $0.replacingOccurrences(of: "-", with: "") }
  }

  static func value(_ set: (inout Crm_Activity_V1_AttributeValue) -> Void) -> Crm_Activity_V1_AttributeValue {
    var value = Crm_Activity_V1_AttributeValue()
    set(&value)
    return value
  }

  @Test func aMeetingReportBecomesOneItemOfCodesAndAClearedText() async throws {
    try await ActivityHarness.with(caller: Self.caller) { context in
      let seeded = try await Self.seed(context)
      let text = """
        Встреча с Евлампием Зюзюкиным в Квазарстрое. Зюзюкину понравился прицеп; Evlampiy Zyuzyukin \
        перезвонит с +7 912 345-67-89 или 8 (912) 345 67 89, а также 89123456789. Почта \(Self.email). \
        Бухгалтер Агафья Трындычихиной не было.
        """
      let record = try await context.activity.logActivity(
        .with {
          $0.kind = .meeting
          $0.dealID = seeded.deal
          $0.text = text
        })
      let items = try await Self.items(context)
      try #require(items.count == 1)
      let (topic, key, bytes, envelope, item) = items[0]
      #expect(topic == "crm.qc.review-items")
      #expect(envelope.type == "crm.qualitycontrol.v1.ReviewItem")
      #expect(envelope.actor == "service:activity")
      #expect(key == item.itemID && envelope.aggregateID == item.itemID)
      // Quality-control's own check takes it as it is.
      let accepted = try ReviewItemInput.check(item)
      #expect(accepted.kind == "meeting" && accepted.withheldReason == nil)

      let codes = ActivityHarness.review.settings.codes
      #expect(item.itemID == codes.code(.reviewItem, record.id))
      #expect(item.repCode == codes.code(.rep, Self.rep))
      #expect(item.clientCode == codes.code(.client, seeded.contact))
      #expect(item.companyCode == codes.code(.company, seeded.company))
      #expect(item.dealCode == codes.code(.deal, seeded.deal))
      #expect(item.occurredAt == record.occurredAt)
      #expect(!item.withheld && item.withheldReason == .unspecified)
      for placeholder in ["[CLIENT]", "[COMPANY]", "[PERSON]", "[PHONE]", "[EMAIL]"] {
        #expect(item.redactedText.contains(placeholder), "\(placeholder) in \(item.redactedText)")
      }
      #expect(item.redactedText.contains("понравился прицеп"), "the rest of the report stays: \(item.redactedText)")

      // No canary anywhere in the bytes that cross the wall, nor in the item's text.
      let raw = Data(bytes)
      for canary in Self.canaries(seeded) {
        #expect(raw.range(of: Data(canary.utf8)) == nil, "\(canary) crossed the wall")
        #expect(!item.redactedText.localizedCaseInsensitiveContains(canary), "\(canary) in \(item.redactedText)")
      }
      for id in [seeded.contact, seeded.deal, seeded.company, record.id] {
        let uuid = try #require(UUID(uuidString: id))
        let rawID = withUnsafeBytes(of: uuid.uuid) { Data($0) }
        #expect(raw.range(of: rawID) == nil, "the bytes of \(id) crossed the wall")
      }
      #expect(!item.redactedText.contains("@"))
      #expect(try await context.count("SELECT count(*)::int FROM review_items WHERE withheld IS NULL") == 1)
    }
  }

  @Test func aReportThatCannotBeClearedIsWithheldWithItsReasonAndCounted() async throws {
    try await ActivityHarness.with(caller: Self.caller) { context in
      let seeded = try await Self.seed(context)
      // A known name glued into another word: the word-by-word pass cannot take it.
      _ = try await context.activity.logActivity(
        .with {
          $0.kind = .call
          $0.contactID = seeded.contact
          $0.text = "Звонил суперЗюзюкину насчёт прицепа"
        })
      let items = try await Self.items(context)
      try #require(items.count == 1)
      let item = items[0].item
      #expect(item.withheld && item.withheldReason == .name)
      #expect(item.redactedText.isEmpty)
      #expect(item.kind == .call && item.dealCode.isEmpty && !item.clientCode.isEmpty)
      let accepted = try ReviewItemInput.check(item)
      #expect(accepted.withheldReason == "name")
      #expect(Data(items[0].bytes).range(of: Data("Зюзюкин".utf8)) == nil)
      #expect(try await context.count("SELECT count(*)::int FROM review_items WHERE withheld = 'name'") == 1)
    }
  }

  /// A text that grows past quality-control's limit when redacted ("Ян" → "[PERSON]") is
  /// withheld as "other", and the report is still logged.
  @Test func aReportTooLongOnceRedactedIsWithheldAsOther() async throws {
    try await ActivityHarness.with(caller: Self.caller) { context in
      let seeded = try await Self.seed(context)
      let yan = UUID().uuidString.lowercased()
      try await context.deliver(
        Crm_Contacts_V1_ContactCreated.with {
          $0.contact.id = yan
          $0.contact.name = "Ян"
          $0.contact.ownerID = "someone-else"
        }, on: EventTopics.contacts, aggregateID: yan)
      let logged = try await context.activity.logActivity(
        .with {
          $0.kind = .meeting
          $0.contactID = seeded.contact
          $0.text = String(repeating: "Ян ", count: 3_333)
        })
      #expect(!logged.id.isEmpty)
      let items = try await Self.items(context)
      try #require(items.count == 1)
      #expect(items[0].item.withheld && items[0].item.withheldReason == .other)
      #expect(items[0].item.redactedText.isEmpty)
      #expect(try await context.count("SELECT count(*)::int FROM review_items WHERE withheld = 'other'") == 1)
    }
  }

  /// A head of sales sees how many reports went to quality control and how many could not be
  /// cleared; a manager may not ask.
  @Test func aHeadOfSalesCountsTheItemsMadeAndWithheld() async throws {
    try await ActivityHarness.with(caller: "head_of_sales:hs-1") { context in
      let seeded = try await Self.seed(context)
      let started = Date().addingTimeInterval(-1)
      for (kind, text) in [
        (Crm_Activity_V1_ActivityKind.meeting, "Обсудили прицеп с Зюзюкиным"),
        (.call, "Звонил суперЗюзюкину насчёт прицепа"), (.note, "Заметка без проверки"),
      ] {
        _ = try await context.activity.logActivity(
          .with {
            $0.kind = kind
            $0.contactID = seeded.contact
            $0.text = text
          })
      }
      let counts = try await context.activity.getReviewItemCounts(
        .with { $0.from = Google_Protobuf_Timestamp(date: started) })
      #expect(counts.made == 2)
      #expect(counts.withheld == 1)
      #expect(counts.withheldByReason == ["name": 1])
      let later = try await context.activity.getReviewItemCounts(
        .with { $0.from = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(3600)) })
      #expect(later.made == 0 && later.withheld == 0)
      let empty = Crm_Activity_V1_GetReviewItemCountsRequest.with {
        $0.from = Google_Protobuf_Timestamp(date: started)
        $0.to = Google_Protobuf_Timestamp(date: started)
      }
      #expect(await statusCode { try await context.activity.getReviewItemCounts(empty) } == .invalidArgument)
    }
    try await ActivityHarness.with(caller: Self.caller) { context in
      #expect(await statusCode { try await context.activity.getReviewItemCounts(.init()) } == .permissionDenied)
    }
  }

  @Test func onlyMeetingsAndCallsWithTextBecomeItemsAndOnlyOnce() async throws {
    try await ActivityHarness.with(caller: Self.caller) { context in
      let seeded = try await Self.seed(context)
      _ = try await context.activity.logActivity(
        .with {
          $0.kind = .note
          $0.contactID = seeded.contact
          $0.text = "Зюзюкин просил перезвонить"
        })
      #expect(try await Self.items(context).isEmpty, "a note is not reviewed")

      let call = Crm_Activity_V1_LogActivityRequest.with {
        $0.kind = .call
        $0.contactID = seeded.contact
        $0.text = "Обсудили сроки поставки"
      }
      let first = try await context.activity.logActivity(call, metadata: ["crm-request-id": "review-1"])
      let again = try await context.activity.logActivity(call, metadata: ["crm-request-id": "review-1"])
      #expect(first == again)
      #expect(try await Self.items(context).count == 1, "a repeated request makes no second item")
      _ = try await context.activity.logActivity(call, metadata: ["crm-request-id": "review-2"])
      let items = try await Self.items(context)
      #expect(items.count == 2, "another request is another report")
      #expect(Set(items.map(\.item.itemID)).count == 2)
    }
  }

  @Test func onlyContextAttributesMarkedSafeGoAlongCleared() async throws {
    try await ActivityHarness.with(caller: Self.caller) { context in
      let seeded = try await Self.seed(context)
      let definitions: [AttributeDefinition] = [
        AttributeDefinition(
          key: "meeting_place", label: "Place", type: .choice, choices: ["Office", "Client site"], retired: false,
          qcSafe: true),
        AttributeDefinition(key: "weather", label: "Weather", type: .text, choices: [], retired: false, qcSafe: true),
        AttributeDefinition(key: "arrival_delay_min", label: "Delay", type: .number, choices: [], retired: false),
        AttributeDefinition(key: "host", label: "Who met us", type: .text, choices: [], retired: false),
        AttributeDefinition(
          key: "visitors", label: "Visitors", type: .number, choices: [], retired: false, qcSafe: true),
        // Safe by mistake: a number that is a phone must not cross all the same.
        AttributeDefinition(
          key: "callback", label: "Call back", type: .number, choices: [], retired: false, qcSafe: true),
      ]
      for definition in definitions {
        _ = try await context.repository.defineAttribute(
          definition, expectedVersion: 0, actor: "head_of_sales:head-1")
      }
      let listed = try await context.activity.listAttributes(.init()).attributes
      #expect(Set(listed.filter(\.qcSafe).map(\.key)) == ["meeting_place", "weather", "visitors", "callback"])

      _ = try await context.activity.logActivity(
        .with {
          $0.kind = .meeting
          $0.dealID = seeded.deal
          $0.text = "Показали прицеп"
          $0.context = [
            "meeting_place": Self.value { $0.choice = "client site" },
            "weather": Self.value { $0.text = "снег, Зюзюкин опоздал" },
            "arrival_delay_min": Self.value { $0.number = 12 },
            "host": Self.value { $0.text = "Агафья" },
            "visitors": Self.value { $0.number = 3 },
            "callback": Self.value { $0.number = 79_123_456_789 },
          ]
        })
      let items = try await Self.items(context)
      try #require(items.count == 1)
      let item = items[0].item
      #expect(
        item.context == ["meeting_place": "Client site", "weather": "снег, [CLIENT] опоздал", "visitors": "3"])
      #expect(Data(items[0].bytes).range(of: Data("Агафья".utf8)) == nil)
      #expect(Data(items[0].bytes).range(of: Data("9123456789".utf8)) == nil)
      _ = try ReviewItemInput.check(item)
    }
  }

  @Test func aHeadOfSalesMarksAnAttributeSafeAndUnmarksIt() throws {
    let safe = try AttributeDefinition.validate(
      .with {
        $0.key = "weather"
        $0.label = "Weather"
        $0.type = .text
        $0.qcSafe = true
      })
    #expect(safe.qcSafe && safe.message.qcSafe)
    let unmarked = try AttributeDefinition.validate(
      .with {
        $0.key = "weather"
        $0.label = "Weather"
        $0.type = .text
      })
    #expect(!unmarked.qcSafe, "not safe unless marked")
    try unmarked.checkRevision(of: safe)
  }

  @Test func theCodeKeyIsRequiredAndLongEnough() throws {
    do {
      _ = try ReviewSettings(environment: EnvironmentReader([:]))
      Issue.record("no key was taken")
    } catch {
      #expect(error.variable == "CRM_QC_CODE_KEY" && error.problem == "is not set")
    }
    do {
      _ = try ReviewSettings(environment: EnvironmentReader(["CRM_QC_CODE_KEY": "short-secret"]))
      Issue.record("a short key was taken")
    } catch {
      #expect(error.variable == "CRM_QC_CODE_KEY" && error.description.contains("12 bytes"))
      #expect(!error.description.contains("short-secret"), "the secret is never quoted")
    }
    _ = try ReviewSettings(environment: EnvironmentReader(["CRM_QC_CODE_KEY": TestIdentity.reviewCodeKey]))
  }
}
