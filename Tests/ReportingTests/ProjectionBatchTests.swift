import CRMContracts
import CRMEvents
import CRMTestSupport
import Foundation
import PostgresNIO
import Testing

@testable import ReportingService

/// The projector applies a batch with a few statements; these check that a batch leaves the
/// rows that applying its events one at a time, in order, leaves — whatever the batching, with
/// duplicates, stale versions and unknown types inside one batch.
@Suite("Reporting projections in batches")
struct ProjectionBatchTests {
  /// Every projection after delivering `events` one per transaction, on a schema of its own.
  static func oneAtATime(_ events: [ReceivedEvent]) async throws -> [String: String] {
    var dump: [String: String] = [:]
    try await ReportingHarness.with { context in
      for event in events { try await context.deliver([event]) }
      dump = try await context.dumpProjections()
    }
    return dump
  }

  static func expectSame(_ actual: [String: String], _ expected: [String: String], _ what: String) {
    for table in ReportingSchema.projectionTables {
      #expect(actual[table] == expected[table], "\(table) differs \(what)")
    }
  }

  @Test(arguments: [1 as UInt64, 2, 3])
  func randomBatchesGiveTheRowsOfOneEventAtATime(seed: UInt64) async throws {
    var history = ProjectionRandomHistory(seed: seed)
    let events = try history.make(steps: 400)
    let expected = try await Self.oneAtATime(events)
    #expect(expected["stage_visits"]?.isEmpty == false)
    #expect(expected["deals"]?.isEmpty == false)
    var random = SeededGenerator(seed: seed &+ 100)
    try await ReportingHarness.with { context in
      // Chunks of 1 to 80 events, now and then one delivered twice within its chunk (a record
      // the broker gave twice).
      var start = 0
      while start < events.count {
        let end = min(events.count, start + Int.random(in: 1...80, using: &random))
        var chunk = Array(events[start..<end])
        if Bool.random(using: &random) { chunk.insert(chunk[0], at: Int.random(in: 0...chunk.count, using: &random)) }
        try await context.deliver(chunk)
        start = end
      }
      Self.expectSame(try await context.dumpProjections(), expected, "after batches")
      #expect(try await context.count("SELECT count(*) FROM events") == events.count)
      // The rebuild replays them all as one batch.
      _ = try await ProjectionRebuild(client: context.database, logger: ReportingHarness.logger).run()
      Self.expectSame(try await context.dumpProjections(), expected, "after a rebuild")
    }
  }

  @Test func anEventTwiceInOneBatchIsStoredAndProjectedOnce() async throws {
    let flow = SalesFlow()
    let (deal, opened) = try flow.open(0, owner: "m-1", kind: .active, source: "cold", amount: 10, at: SalesFlow.day(0))
    let moved = try flow.move(deal, to: 1, at: SalesFlow.day(1))
    let events = [try flow.pipelineDefined(), opened, moved, moved, try flow.estimate(deal, 40, at: SalesFlow.day(2))]
    let expected = try await Self.oneAtATime(events)
    try await ReportingHarness.with { context in
      try await context.deliver(events)
      Self.expectSame(try await context.dumpProjections(), expected, "with a duplicate in the batch")
      #expect(try await context.count("SELECT count(*) FROM events") == 4)
      #expect(try await context.count("SELECT count(*) FROM deal_versions WHERE deal_id = \(flow.deals[0])") == 3)
      #expect(
        try await context.count(
          "SELECT count(*) FROM stage_visits WHERE deal_id = \(flow.deals[0]) AND outcome = 'advanced'") == 1)
    }
  }

  @Test func staleVersionsInsideABatchChangeNothing() async throws {
    let flow = SalesFlow()
    let (deal, opened) = try flow.open(0, owner: "m-1", kind: .active, source: "cold", amount: 10, at: SalesFlow.day(0))
    let moved = try flow.move(deal, to: 2, skipping: [1], at: SalesFlow.day(1))
    let estimated = try flow.estimate(deal, 40, at: SalesFlow.day(2))
    let won = try flow.win(deal, at: SalesFlow.day(3))
    func copy(_ event: ReceivedEvent) -> ReceivedEvent {
      var envelope = event.envelope
      envelope.eventID = UUID().uuidString.lowercased()
      return ReceivedEvent(envelope: envelope, record: event.record)
    }
    let clean = [try flow.pipelineDefined(), opened, moved, estimated, won]
    // The opening again after the move, the move again after the win: both at or below the
    // deal's version by then.
    let disturbed = [clean[0], opened, moved, copy(opened), estimated, won, copy(moved)]
    let expected = try await Self.oneAtATime(clean)
    try await ReportingHarness.with { context in
      try await context.deliver(disturbed)
      Self.expectSame(try await context.dumpProjections(), expected, "with stale versions in the batch")
      #expect(try await context.count("SELECT count(*) FROM events") == disturbed.count)
      #expect(
        try await context.count(
          "SELECT count(*) FROM deals WHERE id = \(flow.deals[0]) AND status = 'won' AND last_open_probability = 40")
          == 1)
      let summary = try await ProjectionRebuild(client: context.database, logger: ReportingHarness.logger).run()
      #expect(summary == .init(events: disturbed.count, projected: clean.count, stale: 2, unknown: 0))
      Self.expectSame(try await context.dumpProjections(), expected, "after a rebuild")
    }
  }

  @Test func aBadPayloadInTheMiddleRejectsTheBatchBeforeAnythingIsWritten() async throws {
    let flow = SalesFlow()
    let (deal, opened) = try flow.open(0, owner: "m-1", kind: .active, source: "cold", amount: 10, at: SalesFlow.day(0))
    let bad = try Envelopes.event(
      Crm_Deals_V1_DealOpened(), topic: EventTopics.deals, aggregateID: flow.deals[1], version: 1,
      at: SalesFlow.day(0), payloadBytes: [0xFF, 0xFF, 0xFF])
    try await ReportingHarness.with { context async throws in
      let error = await #expect(throws: EventRejected.self) {
        try await context.deliver([
          try flow.pipelineDefined(), opened, bad, try flow.move(deal, to: 1, at: SalesFlow.day(1)),
        ])
      }
      #expect(error?.reason.contains(bad.envelope.eventID) == true, "\(String(describing: error))")
      #expect(try await context.count("SELECT count(*) FROM events") == 0)
      #expect(try await context.count("SELECT count(*) FROM deals") == 0)
    }
  }
}
