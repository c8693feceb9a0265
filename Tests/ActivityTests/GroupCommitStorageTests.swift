import CRMContracts
import CRMEvents
import CRMIdentity
import CRMTestSupport
import Foundation
import PostgresNIO
import Testing

@testable import ActivityService

/// The group commits' batch statements on a fresh schema of the real activity database: a batch
/// writes what each item alone would have written, and nothing for what it leaves out.
@Suite("Activity group commit: batch statements")
struct GroupCommitStorageTests {
  static func call(_ id: String, event: String = "ended", from: String) throws -> Communication {
    var fields = [
      "\"event_id\":\"\(id)\"", "\"event\":\"\(event)\"", "\"direction\":\"in\"", "\"from\":\"\(from)\"",
      "\"to\":\"+74951234567\"", "\"occurred_at\":\"2026-11-30T10:15:00Z\"",
    ]
    if event == "ended" { fields.append("\"duration_s\":65") }
    return try CommunicationInput.telephony(Array("{\(fields.joined(separator: ","))}".utf8), region: "RU")
  }

  @Test("a batch of webhooks stores its known contacts' calls once and leaves the rest to be stored alone")
  func webhooks() async throws {
    try await WebhookStorageTests.with { context, _ in
      let contact = try await WebhookStorageTests.contact(context, phones: ["+79123456789"])
      let ended = try Self.call("b-1", from: "+79123456789")
      let started = try Self.call("b-2", event: "started", from: "+79123456789")
      let stranger = try Self.call("b-3", from: "+79990001122")
      let outcomes = try await context.repository.receiveKnown([ended, started, stranger, ended])
      #expect(outcomes.count == 4 && outcomes[2] == nil && outcomes[3] == nil)
      let logged = try #require(outcomes[0])
      #expect(!logged.replay && logged.reply.status == "logged" && logged.reply.contactID == contact)
      let recorded = try #require(outcomes[1])
      #expect(!recorded.replay && recorded.reply.status == "recorded" && recorded.reply.activityID == nil)
      #expect(try await context.count("SELECT count(*)::int FROM communications") == 2)
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 1)
      let events = try await context.events("crm.activity.v1.ActivityLogged")
      #expect(events.count == 1)
      let activity = try Crm_Activity_V1_ActivityLogged(serializedBytes: events[0].payload).activity
      #expect(activity.id == logged.reply.activityID && activity.contactID == contact)

      // Delivered again in a later batch: the first reply, nothing written.
      let again = try await context.repository.receiveKnown([ended, started])
      #expect(again[0]?.replay == true && again[0]?.reply == logged.reply)
      #expect(again[1]?.replay == true && again[1]?.reply == recorded.reply)
      #expect(try await context.count("SELECT count(*)::int FROM communications") == 2)
      #expect(try await context.events("crm.activity.v1.ActivityLogged").count == 1)
    }
  }

  @Test("a batch of activities writes each row, event, review item and reply as one write alone would")
  func activities() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let principal = try Principal(parsing: "manager:manager-1")
      let repository = context.repository
      let call = try ActivityInput.newActivity(
        .with {
          $0.kind = .call
          $0.contactID = contact
          $0.text = "Called about the delivery date"
        })
      let note = try ActivityInput.newActivity(
        .with {
          $0.kind = .note
          $0.contactID = contact
          $0.text = "Prefers mornings"
        })
      let first = try await RequestReplies.$currentRequestDigest.withValue("digest-1") {
        try await repository.activityWrite(call, by: principal, key: "r:batch-1")
      }
      let second = try await repository.activityWrite(note, by: principal, key: nil)
      #expect(first.made != nil && second.made == nil)
      let claimed = try await repository.logActivities([first.write, second.write])
      #expect(claimed == [1, 0])
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 2)
      let logged = try await context.events("crm.activity.v1.ActivityLogged")
      #expect(logged.map(\.aggregateID).sorted() == [first.write.id.text, second.write.id.text].sorted())
      #expect(try await context.count("SELECT count(*)::int FROM review_items") == 1)
      #expect(try await context.events("crm.qualitycontrol.v1.ReviewItem").count == 1)
      #expect(
        try await context.count(
          "SELECT count(*)::int FROM request_replies WHERE key = 'r:batch-1' AND request_digest = 'digest-1'") == 1)
      #expect(try await context.count("SELECT count(*)::int FROM request_replies") == 1)

      // A key stored before fails the whole batch: nothing of it is written.
      let third = try await repository.activityWrite(note, by: principal, key: "r:batch-1")
      let fourth = try await repository.activityWrite(note, by: principal, key: nil)
      await #expect(throws: (any Error).self) { try await repository.logActivities([third.write, fourth.write]) }
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 2)
    }
  }
}
