import CRMContracts
import CRMDatabase
import CRMEvents
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ActivityService

/// The activity service's rules over its real database (RPCs through the in-process transport).
@Suite("Activity service: activities")
struct ActivityServiceTests {
  static func value(_ set: (inout Crm_Activity_V1_AttributeValue) -> Void) -> Crm_Activity_V1_AttributeValue {
    var value = Crm_Activity_V1_AttributeValue()
    set(&value)
    return value
  }

  @Test func aMeetingWithContextIsLoggedByItsAuthorOnTheDealsContactAndPublished() async throws {
    try await ActivityHarness.with { context in
      try await context.meetingCatalogue()
      let contact = try await context.knownContact()
      let deal = try await context.knownDeal(contact: contact)
      let occurred = Date().addingTimeInterval(-3600)
      let record = try await context.activity.logActivity(
        .with {
          $0.kind = .meeting
          $0.dealID = deal
          $0.text = "Showed the 2-axle trailer\nclient liked it"
          $0.occurredAt = occurred.timestamp
          $0.context = [
            "meeting_place": Self.value { $0.choice = "client site" },
            "weather": Self.value { $0.text = "снег" },
            "arrival_delay_min": Self.value { $0.number = 12 },
          ]
        })
      // The deal's contact is linked too; the author is the verified caller.
      #expect(record.contactID == contact && record.dealID == deal)
      #expect(record.author == "manager:manager-1" && record.authorID == "manager-1")
      #expect(record.kind == .meeting && record.text == "Showed the 2-axle trailer\nclient liked it")
      #expect(record.context["meeting_place"]?.choice == "Client site")
      #expect(record.context["arrival_delay_min"]?.number == 12)
      #expect(abs(record.occurredAt.date.timeIntervalSince(occurred)) < 0.001)

      let events = try await context.events("crm.activity.v1.ActivityLogged")
      #expect(events.count == 1)
      #expect(events[0].actor == "manager:manager-1" && events[0].aggregateID == record.id)
      let logged = try Crm_Activity_V1_ActivityLogged(serializedBytes: events[0].payload)
      #expect(logged.activity == record)

      // It is on the contact's, the deal's and the author's timelines, as stored.
      for request in [
        Crm_Activity_V1_GetTimelineRequest.with { $0.contactID = contact },
        .with { $0.dealID = deal },
        .with { $0.managerID = "manager-1" },
      ] {
        let timeline = try await context.activity.getTimeline(request)
        #expect(timeline.activities == [record] && timeline.nextPageToken.isEmpty)
      }
    }
  }

  @Test func badLinksAndContextsAreRefusedPreciselyAndWriteNothing() async throws {
    try await ActivityHarness.with { context in
      try await context.meetingCatalogue()
      let contact = try await context.knownContact()
      let other = try await context.knownContact()
      let deal = try await context.knownDeal(contact: contact)
      let base = Crm_Activity_V1_LogActivityRequest.with {
        $0.kind = .call
        $0.contactID = contact
        $0.text = "Called"
      }
      func refused(_ set: (inout Crm_Activity_V1_LogActivityRequest) -> Void) async -> (RPCError.Code?, String) {
        var request = base
        set(&request)
        return (
          await statusCode { try await context.activity.logActivity(request) },
          await failure { try await context.activity.logActivity(request) }
        )
      }
      let unknownContact = UUID().uuidString.lowercased()
      #expect(
        await refused { $0.contactID = unknownContact } == (.notFound, "contact \(unknownContact) does not exist"))
      let unknownDeal = UUID().uuidString.lowercased()
      #expect(await refused { $0.dealID = unknownDeal } == (.notFound, "deal \(unknownDeal) does not exist"))
      let mismatch = await refused {
        $0.contactID = other
        $0.dealID = deal
      }
      #expect(
        mismatch.0 == .invalidArgument && mismatch.1.hasPrefix("contact_id: deal \(deal) is with contact \(contact)"))
      let unknownKey = await refused { $0.context = ["mood": Self.value { $0.text = "good" }] }
      #expect(unknownKey.0 == .invalidArgument)
      #expect(unknownKey.1.hasPrefix("context[\"mood\"]: is not in the attribute catalogue"), "\(unknownKey.1)")
      let wrongType = await refused { $0.context = ["arrival_delay_min": Self.value { $0.text = "late" }] }
      #expect(wrongType.0 == .invalidArgument && wrongType.1.contains("makes it number"), "\(wrongType.1)")
      let choice = await refused { $0.context = ["meeting_place": Self.value { $0.choice = "Cafe" }] }
      #expect(choice.0 == .invalidArgument && choice.1.contains("Office, Client site"), "\(choice.1)")
      #expect(await refused { $0.text = "a\u{0}b" }.0 == .invalidArgument)
      #expect(await refused { $0.kind = .UNRECOGNIZED(1000) }.0 == .invalidArgument)

      #expect(try await context.count("SELECT count(*)::int FROM activities") == 0)
      #expect(
        try await context.count("SELECT count(*)::int FROM outbox WHERE type LIKE 'crm.activity.v1.Activity%'") == 0)
      // The timeline of a contact nobody knows is not an empty page.
      #expect(
        await statusCode { try await context.activity.getTimeline(.with { $0.contactID = unknownContact }) }
          == .notFound)
    }
  }

  @Test func timelinesAreNewestFirstAndPageWithSealedCursorsBoundToTheirTimeline() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let otherContact = try await context.knownContact()
      let base = Date().addingTimeInterval(-86_400)
      // Logged out of order, two at the same instant.
      var logged: [Crm_Activity_V1_ActivityRecord] = []
      for offset in [5, 1, 3, 3, 7, 0, 6] {
        logged.append(
          try await context.activity.logActivity(
            .with {
              $0.kind = .note
              $0.contactID = contact
              $0.text = "note at +\(offset) min"
              $0.occurredAt = base.addingTimeInterval(Double(offset) * 60).timestamp
            }))
      }
      _ = try await context.activity.logActivity(
        .with {
          $0.kind = .note
          $0.contactID = otherContact
          $0.text = "another contact's"
        })
      // Newest first; of two at the same instant the later logged first.
      let expected = logged.enumerated().sorted {
        ($0.element.occurredAt.date, $0.offset) > ($1.element.occurredAt.date, $1.offset)
      }.map(\.element)

      var pages: [[Crm_Activity_V1_ActivityRecord]] = []
      var token = ""
      var firstToken = ""
      repeat {
        let page = try await context.activity.getTimeline(
          .with {
            $0.contactID = contact
            $0.page.pageSize = 3
            $0.page.pageToken = token
          })
        pages.append(page.activities)
        token = page.nextPageToken
        if firstToken.isEmpty { firstToken = token }
      } while !token.isEmpty && pages.count < 10
      #expect(pages.map(\.count) == [3, 3, 1])
      #expect(pages.flatMap { $0 }.map(\.id) == expected.map(\.id))

      // A token pages only the timeline that issued it, and only as issued.
      func code(_ set: (inout Crm_Activity_V1_GetTimelineRequest) -> Void) async -> RPCError.Code? {
        var request = Crm_Activity_V1_GetTimelineRequest.with {
          $0.contactID = contact
          $0.page.pageSize = 3
          $0.page.pageToken = firstToken
        }
        set(&request)
        return await statusCode { try await context.activity.getTimeline(request) }
      }
      #expect(await code { _ in } == nil)
      #expect(await code { $0.contactID = otherContact } == .invalidArgument)
      #expect(
        await code {
          $0.contactID = ""
          $0.managerID = "manager-1"
        } == .invalidArgument)
      var characters = Array(firstToken)
      characters[4] = characters[4] == "A" ? "B" : "A"
      #expect(await code { $0.page.pageToken = String(characters) } == .invalidArgument)
      // Hostile tokens: huge, not base64, a cursor of all ones, a negative size.
      let allOnes = Data([1] + [UInt8](repeating: 0xFF, count: 8) + [UInt8](repeating: 0, count: 16))
        .base64EncodedString()
      for hostile in [String(repeating: "A", count: 100_000), "%%%", allOnes, "AQ", "\u{0}"] {
        #expect(await code { $0.page.pageToken = hostile } == .invalidArgument, "\(hostile.prefix(20))")
      }
      #expect(await code { $0.page.pageSize = 101 } == .invalidArgument)
      #expect(await code { $0.page.pageSize = -1 } == .invalidArgument)
      #expect(await code { $0.page.pageSize = .max } == .invalidArgument)
    }
  }

  @Test func aRepeatedLogAnswersTheFirstRecordAndPublishesOnce() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let request = Crm_Activity_V1_LogActivityRequest.with {
        $0.kind = .order
        $0.contactID = contact
        $0.text = "Ordered two trailers"
      }
      let first = try await context.activity.logActivity(request, metadata: ["crm-request-id": "log-1"])
      let again = try await context.activity.logActivity(request, metadata: ["crm-request-id": "log-1"])
      #expect(again == first)
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 1)
      #expect(try await context.events("crm.activity.v1.ActivityLogged").count == 1)
      // The same request id on a different request is refused, not answered with the first reply.
      var different = request
      different.text = "Ordered three trailers"
      #expect(
        await statusCode { try await context.activity.logActivity(different, metadata: ["crm-request-id": "log-1"]) }
          == .failedPrecondition)
      let other = try await context.activity.logActivity(request, metadata: ["crm-request-id": "log-2"])
      #expect(other.id != first.id)
      #expect(try await context.events("crm.activity.v1.ActivityLogged").count == 2)
    }
  }

  @Test func aManagerLogsOnlyOnHisOwnAndReadsOnlyHisOwnTimeline() async throws {
    try await ActivityHarness.with(caller: "manager:manager-2") { context in
      let hers = try await context.knownContact(owner: "manager-1")
      let mine = try await context.knownContact(owner: "manager-2")
      let dealOfHers = try await context.knownDeal(contact: mine, owner: "manager-1")
      for request in [
        Crm_Activity_V1_LogActivityRequest.with {
          $0.kind = .call
          $0.contactID = hers
        },
        .with {
          $0.kind = .call
          $0.dealID = dealOfHers
        },
      ] {
        #expect(await statusCode { try await context.activity.logActivity(request) } == .permissionDenied)
        let message = await failure { try await context.activity.logActivity(request) }
        #expect(message.contains("belongs to manager-1") && message.contains("manager:manager-2"), "\(message)")
      }
      _ = try await context.activity.logActivity(
        .with {
          $0.kind = .call
          $0.contactID = mine
        })
      #expect(
        await statusCode { try await context.activity.getTimeline(.with { $0.managerID = "manager-1" }) }
          == .permissionDenied)
      #expect(try await context.activity.getTimeline(.with { $0.managerID = "manager-2" }).activities.count == 1)
      // The catalogue is the head of sales's.
      let define = Crm_Activity_V1_DefineAttributeRequest.with {
        $0.key = "weather"
        $0.label = "Weather"
        $0.type = .text
      }
      #expect(await statusCode { try await context.activity.defineAttribute(define) } == .permissionDenied)
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 1)
    }
    try await ActivityHarness.with(caller: "qc_reviewer:r-1") { context in
      let contact = try await context.knownContact()
      let request = Crm_Activity_V1_LogActivityRequest.with {
        $0.kind = .call
        $0.contactID = contact
      }
      #expect(await statusCode { try await context.activity.logActivity(request) } == .permissionDenied)
      #expect(
        await statusCode { try await context.activity.getTimeline(.with { $0.contactID = contact }) }
          == .permissionDenied)
    }
  }

  @Test func aHeadOfSalesKeepsTheCatalogueWithVersionsAndATypeThatStays() async throws {
    try await ActivityHarness.with(caller: "head_of_sales:head-1") { context in
      let place = Crm_Activity_V1_DefineAttributeRequest.with {
        $0.key = "meeting_place"
        $0.label = "Where we met"
        $0.type = .choice
        $0.choices = ["Office", "Client site"]
      }
      let defined = try await context.activity.defineAttribute(place)
      #expect(defined.version == 1 && defined.choices == ["Office", "Client site"])
      // Again as new: it exists.
      #expect(await statusCode { try await context.activity.defineAttribute(place) } == .alreadyExists)
      var revised = place
      revised.choices.append("Exhibition")
      revised.expectedVersion = 1
      let second = try await context.activity.defineAttribute(revised)
      #expect(second.version == 2 && second.choices.last == "Exhibition")
      // A stale version, a changed type, an attribute that is not there.
      #expect(await statusCode { try await context.activity.defineAttribute(revised) } == .aborted)
      var retyped = revised
      retyped.expectedVersion = 2
      retyped.type = .text
      retyped.choices = []
      #expect(await statusCode { try await context.activity.defineAttribute(retyped) } == .failedPrecondition)
      var missing = place
      missing.key = "nowhere"
      missing.expectedVersion = 3
      #expect(await statusCode { try await context.activity.defineAttribute(missing) } == .notFound)

      // Retired: it takes no new values, and the catalogue still lists it.
      var retired = revised
      retired.expectedVersion = 2
      retired.retired = true
      _ = try await context.activity.defineAttribute(retired)
      let contact = try await context.knownContact()
      let log = Crm_Activity_V1_LogActivityRequest.with {
        $0.kind = .meeting
        $0.contactID = contact
        $0.context = ["meeting_place": Self.value { $0.choice = "Office" }]
      }
      #expect(await failure { try await context.activity.logActivity(log) }.contains("retired"))
      let listed = try await context.activity.listAttributes(.init()).attributes
      #expect(listed.map(\.key) == ["meeting_place"] && listed[0].retired && listed[0].version == 3)
      let events = try await context.events("crm.activity.v1.AttributeDefined")
      #expect(events.map(\.aggregateVersion) == [1, 2, 3])
      #expect(events.allSatisfy { $0.actor == "head_of_sales:head-1" })
    }
  }

  @Test func theDirectoryFollowsDealsByVersionAndRefusesEventsItCannotRead() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let deal = UUID().uuidString.lowercased()
      func dealEvent(_ status: Crm_Deals_V1_DealStatus, version: Int64) -> Crm_Deals_V1_Deal {
        .with {
          $0.id = deal
          $0.contactID = contact
          $0.ownerID = "manager-1"
          $0.status = status
          $0.version = version
        }
      }
      try await context.deliver(
        Crm_Deals_V1_DealOpened.with { $0.deal = dealEvent(.open, version: 1) }, on: EventTopics.deals,
        aggregateID: deal)
      try await context.deliver(
        Crm_Deals_V1_DealWon.with { $0.deal = dealEvent(.won, version: 3) }, on: EventTopics.deals, aggregateID: deal,
        version: 3)
      // An older event delivered late changes nothing.
      try await context.deliver(
        Crm_Deals_V1_DealMoved.with { $0.deal = dealEvent(.open, version: 2) }, on: EventTopics.deals,
        aggregateID: deal, version: 2)
      #expect(try await context.count("SELECT version::int FROM known_deals WHERE status = 'won'") == 3)
      // A deal with no contact id cannot be linked to: dead-lettered, not stored.
      var broken = dealEvent(.open, version: 1)
      broken.id = UUID().uuidString
      broken.contactID = "nobody"
      do {
        try await context.deliver(
          Crm_Deals_V1_DealOpened.with { $0.deal = broken }, on: EventTopics.deals, aggregateID: broken.id)
        Issue.record("a deal without a contact id was stored")
      } catch {
        let rejected = try #require(transactionCause(of: error) as? EventRejected)
        #expect(rejected.reason.contains("deal.contact_id"), "\(rejected)")
      }
      #expect(try await context.count("SELECT count(*)::int FROM known_deals") == 1)
      // An archived contact stays known (its activities stay readable).
      try await context.deliver(
        Crm_Contacts_V1_ContactArchived.with { $0.contactID = contact }, on: EventTopics.contacts, aggregateID: contact)
      #expect(try await context.count("SELECT count(*)::int FROM known_contacts WHERE archived") == 1)
    }
  }

  @Test func aLeadConvertedIntoAKnownContactLeavesItsOwner() async throws {
    try await ActivityHarness.with { context in
      // The contact is manager-a's; a lead of manager-b's converted into it (a duplicate), or
      // delivered late after an owner change, must not make it manager-b's.
      let contact = try await context.knownContact(owner: "manager-a")
      func converted(_ contactID: String) -> Crm_Contacts_V1_LeadConverted {
        .with {
          $0.contactID = contactID
          $0.lead.id = UUID().uuidString.lowercased()
          $0.lead.ownerID = "manager-b"
          $0.pipelineID = UUID().uuidString.lowercased()
        }
      }
      try await context.deliver(converted(contact), on: EventTopics.contacts, aggregateID: contact)
      #expect(
        try await context.count(
          "SELECT count(*)::int FROM known_contacts WHERE id = \(contact)::uuid AND owner_id = 'manager-a'") == 1)
      // A contact not known yet is known from the conversion, as the lead's owner's.
      let fresh = UUID().uuidString.lowercased()
      try await context.deliver(converted(fresh), on: EventTopics.contacts, aggregateID: fresh)
      #expect(
        try await context.count(
          "SELECT count(*)::int FROM known_contacts WHERE id = \(fresh)::uuid AND owner_id = 'manager-b'") == 1)
    }
  }

  @Test func aDealEventWithoutAVersionOrWithAnOwnerThatIsNoTextIsDeadLettered() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      func refusal(version: Int64, owner: String) async throws -> String? {
        let deal = UUID().uuidString.lowercased()
        do {
          try await context.deliver(
            Crm_Deals_V1_DealOpened.with {
              $0.deal.id = deal
              $0.deal.contactID = contact
              $0.deal.ownerID = owner
              $0.deal.status = .open
              $0.deal.version = version
            }, on: EventTopics.deals, aggregateID: deal)
          return nil
        } catch {
          return try #require(transactionCause(of: error) as? EventRejected).reason
        }
      }
      #expect(try await refusal(version: 0, owner: "manager-1")?.contains("deal.version") == true)
      #expect(try await refusal(version: -5, owner: "manager-1")?.contains("deal.version") == true)
      #expect(try await refusal(version: 1, owner: "")?.contains("deal.owner_id") == true)
      #expect(try await refusal(version: 1, owner: "manager\u{202E}1")?.contains("deal.owner_id") == true)
      #expect(
        try await refusal(version: 1, owner: String(repeating: "m", count: 201))?.contains("deal.owner_id") == true)
      #expect(try await context.count("SELECT count(*)::int FROM known_deals") == 0)
      #expect(try await refusal(version: 1, owner: " manager-1 ") == nil)
      #expect(try await context.count("SELECT count(*)::int FROM known_deals WHERE owner_id = 'manager-1'") == 1)
    }
  }
}
