import CRMContracts
import CRMEvents
import CRMTestSupport
import Foundation
import GRPCCore
import PostgresNIO
import SwiftProtobuf
import Testing

@testable import ReportingService

/// The read models from a hand-built history delivered through the inbox's batch handler:
/// what each projection holds, late and unknown events, bad payloads, and the rebuild.
@Suite("Reporting projections")
struct ProjectionTests {
  @Test func theHistoryIsStoredAndProjected() async throws {
    try await ReportingHarness.with { context in
      let flow = SalesFlow()
      let history = try flow.history()
      try await context.deliver(history)
      #expect(try await context.count("SELECT count(*) FROM events") == history.count)
      #expect(try await context.count("SELECT count(*) FROM events WHERE NOT projected") == 0)
      let d0 = flow.deals[0]
      let d1 = flow.deals[1]
      let d2 = flow.deals[2]
      #expect(try await context.count("SELECT count(*) FROM deal_versions WHERE deal_id = \(d0)") == 5)
      #expect(
        try await context.count(
          "SELECT count(*) FROM deal_versions WHERE deal_id = \(d0) AND version = 2 AND occurred_at = \(SalesFlow.day(1))"
        ) == 1, "a version's time is the move's, not the envelope's")
      #expect(
        try await context.count(
          "SELECT count(*) FROM deals WHERE id = \(d0) AND last_moved_at = \(SalesFlow.day(3))") == 1)
      #expect(
        try await context.count(
          "SELECT count(*) FROM stage_visits WHERE deal_id = \(d0) AND stage_id = \(flow.stages[2]) AND outcome = 'skipped'"
        ) == 1)
      #expect(try await context.count("SELECT last_open_probability FROM deals WHERE id = \(d1)") == 30)
      #expect(try await context.count("SELECT count(*) FROM deals WHERE id = \(d1) AND loss_kind = 'stall'") == 1)
      #expect(try await context.count("SELECT count(*) FROM deals WHERE id = \(d2) AND loss_kind = 'real'") == 1)
      #expect(try await context.count("SELECT count(*) FROM deals WHERE id = \(d0) AND loss_kind IS NULL") == 1)
      // The call on D3 counts on the day it happened, not the day it was recorded.
      #expect(
        try await context.count(
          "SELECT activities::int FROM activity_counts WHERE author_id = 'm-2' AND day = '2026-01-07'") == 1)
      #expect(
        try await context.count(
          "SELECT count(*) FROM deal_activity WHERE deal_id = \(flow.deals[3]) AND last_activity_at = \(SalesFlow.day(2))"
        ) == 1)
      #expect(try await context.count("SELECT unprocessed_deals FROM hygiene_reports WHERE manager_id = 'm-1'") == 2)
      #expect(
        try await context.count("SELECT weighted_score::int FROM qc_reviews WHERE rep_code = 'REPCODE234567ABC'") == 75)
      #expect(try await context.count("SELECT optional_filled * 10 + optional_total FROM card_completeness") == 28)
      #expect(try await context.count("SELECT count(*) FROM leads WHERE status = 'rejected'") == 2)
    }
  }

  @Test func aLateOrDuplicateVersionAndAnUnknownTypeChangeNothing() async throws {
    try await ReportingHarness.with { context in
      let flow = SalesFlow()
      let history = try flow.history()
      try await context.deliver(history)
      let before = try await context.dumpProjections()

      // The same change again under a new event id (a producer that published twice), an older
      // version of D1 delivered late, and a type a newer deals service might publish.
      let moveOfD0 = try #require(
        history.first { $0.envelope.type == "crm.deals.v1.DealMoved" && $0.envelope.aggregateID == flow.deals[0] })
      var copy = moveOfD0.envelope
      copy.eventID = UUID().uuidString.lowercased()
      let openedD1 = try #require(
        history.first { $0.envelope.type == "crm.deals.v1.DealOpened" && $0.envelope.aggregateID == flow.deals[1] })
      var late = openedD1.envelope
      late.eventID = UUID().uuidString.lowercased()
      let unknown = try Envelopes.event(
        Crm_Deals_V1_DealWon(), topic: EventTopics.deals, aggregateID: flow.deals[1], version: 99,
        at: SalesFlow.day(9), type: "crm.deals.v1.DealReopened", payloadBytes: [0x0A, 0x03, 0x61, 0x62, 0x63])
      try await context.deliver([
        ReceivedEvent(envelope: copy, record: moveOfD0.record), ReceivedEvent(envelope: late, record: openedD1.record),
        unknown,
      ])
      #expect(try await context.dumpProjections() == before)
      #expect(try await context.count("SELECT count(*) FROM events") == history.count + 3)
      #expect(
        try await context.count(
          "SELECT count(*) FROM events WHERE type = 'crm.deals.v1.DealReopened' AND NOT projected") == 1)
    }
  }

  @Test func aPayloadThatDoesNotDecodeIsRejectedAndNothingIsStored() async throws {
    try await ReportingHarness.with { context in
      let flow = SalesFlow()
      try await context.deliver([try flow.pipelineDefined()])
      let bad = try Envelopes.event(
        Crm_Deals_V1_DealOpened(), topic: EventTopics.deals, aggregateID: flow.deals[0], version: 1,
        at: SalesFlow.day(0), payloadBytes: [0xFF, 0xFF, 0xFF])
      await #expect(throws: EventRejected.self) { try await context.deliver([bad]) }
      // A deal event without its opening time: named, rejected.
      let (state, _) = try flow.open(1, owner: "m-1", kind: .active, source: "x", amount: 1, at: SalesFlow.day(0))
      state.deal.clearOpenedAt()
      let untimed = try flow.dealEvent(
        Crm_Deals_V1_DealOpened.with { $0.deal = state.deal }, state, at: SalesFlow.day(0))
      let error = await #expect(throws: EventRejected.self) { try await context.deliver([untimed]) }
      #expect(error?.reason.contains("deal.opened_at") == true, "\(String(describing: error))")
      // A time no record may carry (10^15 s: postgres-nio's conversion to microseconds would trap):
      // named, rejected, not a crash.
      let (forged, _) = try flow.open(2, owner: "m-1", kind: .active, source: "x", amount: 1, at: SalesFlow.day(0))
      forged.deal.openedAt = Google_Protobuf_Timestamp(seconds: 1_000_000_000_000_000)
      let farOff = try flow.dealEvent(
        Crm_Deals_V1_DealOpened.with { $0.deal = forged.deal }, forged, at: SalesFlow.day(0))
      let refusal = await #expect(throws: EventRejected.self) { try await context.deliver([farOff]) }
      #expect(refusal?.reason.contains("deal.opened_at") == true, "\(String(describing: refusal))")
      #expect(try await context.count("SELECT count(*) FROM events") == 1)
      #expect(try await context.count("SELECT count(*) FROM deals") == 0)
    }
  }

  @Test func aRebuildGivesTheSameRows() async throws {
    try await ReportingHarness.with { context in
      let flow = SalesFlow()
      let history = try flow.history()
      // In several batches, as the inbox would bring them; a duplicate and an unknown type among them.
      for batch in stride(from: 0, to: history.count, by: 7) {
        try await context.deliver(Array(history[batch..<min(batch + 7, history.count)]))
      }
      var copy = history[3].envelope
      copy.eventID = UUID().uuidString.lowercased()
      try await context.deliver([
        ReceivedEvent(envelope: copy, record: history[3].record),
        try Envelopes.event(
          Crm_Deals_V1_DealWon(), topic: EventTopics.deals, aggregateID: "x", version: 1, at: SalesFlow.day(9),
          type: "crm.deals.v1.SomethingNew"),
      ])
      let before = try await context.dumpProjections()
      #expect(before["stage_visits"]?.isEmpty == false)

      let denied = await statusCode {
        try await context.as("head_of_sales:head-1") { try await context.reporting.rebuildProjections(.init()) }
      }
      #expect(denied == .permissionDenied)
      let reply = try await context.as("operator:crmctl") { try await context.reporting.rebuildProjections(.init()) }
      #expect(reply.events == Int64(history.count + 2))
      #expect(reply.unknown == 1 && reply.stale == 1)
      #expect(reply.projected == Int64(history.count))
      let after = try await context.dumpProjections()
      for table in ReportingSchema.projectionTables {
        #expect(after[table] == before[table], "\(table) differs after the rebuild")
      }
    }
  }
}
