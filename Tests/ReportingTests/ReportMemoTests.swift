import CRMContracts
import Foundation
import Synchronization
import Testing

@testable import ReportingService

/// `ReportMemo` (pure: computations counted) and `MemoizedReportingRepository` on a projected
/// history: every caller gets what the repository itself would give him, and a change to the
/// projections shows at once.
@Suite("Reporting memo")
struct ReportMemoTests {
  final class Calls: Sendable {
    let count = Mutex(0)
    func next() -> Int {
      count.withLock {
        $0 += 1
        return $0
      }
    }
    var value: Int { count.withLock { $0 } }
  }

  struct Refused: Error {}

  static let key = ReportMemo.Key.forecast(pipelineID: "p", currency: nil)
  static let other = ReportMemo.Key.forecast(pipelineID: "q", currency: nil)

  @Test func aReportIsComputedOncePerVersion() async throws {
    let memo = ReportMemo()
    let calls = Calls()
    #expect(try await memo.value(Self.key, at: 1) { calls.next() } == 1)
    #expect(try await memo.value(Self.key, at: 1) { calls.next() } == 1)
    #expect(try await memo.value(Self.other, at: 1) { calls.next() } == 2)
    #expect(try await memo.value(Self.key, at: 2) { calls.next() } == 3)
    // A caller who read an older version is given the newer reply.
    #expect(try await memo.value(Self.key, at: 1) { calls.next() } == 3)
    #expect(calls.value == 3)
    #expect(memo.tally.hits == 2 && memo.tally.misses == 3)
  }

  @Test func callersWhoAskWhileItIsComputedShareTheComputation() async throws {
    let memo = ReportMemo()
    let calls = Calls()
    let (gate, open) = AsyncStream.makeStream(of: Void.self)
    let replies = try await withThrowingTaskGroup(of: Int.self) { group in
      for _ in 0..<8 {
        group.addTask {
          try await memo.value(Self.key, at: 5) {
            for await _ in gate { break }
            return calls.next()
          }
        }
      }
      // All eight are in before the one computation may end.
      while memo.tally.hits + memo.tally.misses < 8 { try await Task.sleep(for: .milliseconds(5)) }
      open.yield()
      open.finish()
      return try await group.reduce(into: []) { $0.append($1) }
    }
    #expect(replies == Array(repeating: 1, count: 8))
    #expect(calls.value == 1 && memo.tally.misses == 1)
  }

  @Test func aFailureIsNotKept() async throws {
    let memo = ReportMemo()
    let calls = Calls()
    await #expect(throws: Refused.self) {
      try await memo.value(Self.key, at: 1) { () async throws -> Int in
        _ = calls.next()
        throw Refused()
      }
    }
    #expect(try await memo.value(Self.key, at: 1) { calls.next() } == 2)
  }

  @Test func entriesExpireAndTheOldestMakeRoom() async throws {
    let expiring = ReportMemo(lifetime: .zero)
    let calls = Calls()
    _ = try await expiring.value(Self.key, at: 1) { calls.next() }
    #expect(try await expiring.value(Self.key, at: 1) { calls.next() } == 2)

    let small = ReportMemo(capacity: 2)
    let keys = (0..<3).map { ReportMemo.Key.forecast(pipelineID: "p\($0)", currency: nil) }
    for key in keys { _ = try await small.value(key, at: 1) { calls.next() } }
    // keys[0] was the oldest: computed again; keys[2] was kept.
    #expect(try await small.value(keys[2], at: 1) { calls.next() } == 5)
    #expect(try await small.value(keys[0], at: 1) { calls.next() } == 6)
    // A key asked at a newer version replaces its own entry: keys[0] stays.
    _ = try await small.value(keys[0], at: 2) { calls.next() }
    #expect(try await small.value(keys[0], at: 2) { calls.next() } == 7)
    #expect(try await small.value(keys[2], at: 1) { calls.next() } == 5)
  }

  /// Each caller (a head of sales, each manager, a manager with no deals) and owner filter, for
  /// each report the memo keeps, twice (computed, then kept): what the repository gives.
  @Test func everyCallerGetsWhatTheRepositoryGivesHim() async throws {
    try await ReportTests.withHistory { context, flow in
      let base = PostgresReportingRepository(client: context.database, logger: ReportingHarness.logger)
      let memoized = MemoizedReportingRepository(base: base, memo: ReportMemo())
      let january = ReportPeriod(
        from: Date(timeIntervalSince1970: 1_767_225_600), to: Date(timeIntervalSince1970: 1_769_904_000))
      // From 5 January 12:00 to 8 January: inside a month (the visits' and the leads' rows).
      let days = ReportPeriod(
        from: Date(timeIntervalSince1970: 1_767_614_400), to: Date(timeIntervalSince1970: 1_767_830_400))
      var missesOfTheFirstRound = 0
      for round in 0..<2 {
        for visibility in [Visibility.everyone, .manager("m-1"), .manager("m-2"), .manager("m-9")] {
          for owner in [nil, "m-1", "m-2"] as [String?] {
            for period in [ReportPeriod.all, january, days] {
              for (kind, source) in [(nil, nil), ("consultative", nil), (nil, "cold")] as [(String?, String?)] {
                let funnel = FunnelQuery(
                  pipelineID: flow.pipelineID, period: period, kind: kind, source: source, ownerID: owner,
                  visibility: visibility)
                #expect(try await memoized.funnel(funnel) == base.funnel(funnel))
                let leads = LeadFunnelQuery(
                  period: period, businessLine: nil, source: source, ownerID: owner, visibility: visibility)
                #expect(try await memoized.leadFunnel(leads) == base.leadFunnel(leads))
              }
              for pipelineID in [nil, flow.pipelineID] {
                let losses = LossesQuery(pipelineID: pipelineID, period: period, ownerID: owner, visibility: visibility)
                #expect(try await memoized.losses(losses) == base.losses(losses))
              }
            }
          }
          for pipelineID in [nil, flow.pipelineID] {
            for currency in [nil, "RUB", "USD"] {
              let forecast = ForecastQuery(pipelineID: pipelineID, currency: currency, visibility: visibility)
              #expect(try await memoized.forecast(forecast) == base.forecast(forecast))
            }
          }
          for period in [ReportPeriod.all, january, days] {
            for currency in [nil, "RUB"] {
              let board = LeaderboardQuery(period: period, currency: currency, visibility: visibility, codes: nil)
              #expect(try await memoized.leaderboard(board) == base.leaderboard(board))
            }
          }
        }
        if round == 0 { missesOfTheFirstRound = memoized.memo.tally.misses }
      }
      // One computation per report and parameters, whoever asked: the second round only hits.
      // Funnel 3 periods × 3 filters, lead funnel 3 × 2 sources, losses 3 × 2 pipelines, forecast
      // 2 pipelines × 3 currencies, leaderboard 3 periods × 2 currencies.
      #expect(missesOfTheFirstRound == 3 * 3 + 3 * 2 + 3 * 2 + 2 * 3 + 3 * 2)
      #expect(memoized.memo.tally.misses == missesOfTheFirstRound)
      // What a manager is given has his rows and the team's only.
      let mine = try await memoized.funnel(
        FunnelQuery(
          pipelineID: flow.pipelineID, period: .all, kind: nil, source: nil, ownerID: nil, visibility: .manager("m-1")))
      #expect(Set(mine.rows.map(\.ownerID)) == ["", "m-1"])
    }
  }

  /// A change shows on the next call of the reports that read its area, and leaves the others
  /// kept: an activity recomputes the leaderboard, not the funnel; a lead the lead funnel; a
  /// deal's move the funnel; a rebuild everything.
  @Test func aChangeToTheProjectionsShowsAtOnce() async throws {
    try await ReportTests.withHistory { context, flow in
      let base = PostgresReportingRepository(client: context.database, logger: ReportingHarness.logger)
      let memoized = MemoizedReportingRepository(base: base, memo: ReportMemo())
      let board = LeaderboardQuery(period: .all, currency: nil, visibility: .everyone, codes: nil)
      let leads = LeadFunnelQuery(period: .all, businessLine: nil, source: nil, ownerID: nil, visibility: .everyone)
      let funnel = FunnelQuery(
        pipelineID: flow.pipelineID, period: .all, kind: nil, source: nil, ownerID: nil, visibility: .everyone)
      let activities = { (reply: Crm_Reporting_V1_GetLeaderboardReply) in
        reply.entries.first { $0.managerID == "m-1" }?.activities.value ?? 0
      }
      let total = { (reply: Crm_Reporting_V1_GetLeadFunnelReply) in reply.rows.filter(\.team).map(\.leads).reduce(0, +)
      }
      let misses = { memoized.memo.tally.misses }
      let before = try await memoized.leaderboard(board)
      let leadsBefore = try await memoized.leadFunnel(leads)
      let funnelBefore = try await memoized.funnel(funnel)
      #expect(misses() == 3)

      try await context.deliver([try SalesFlow.activity(on: flow.deals[0], by: "m-1", at: SalesFlow.day(2))])
      let after = try await memoized.leaderboard(board)
      #expect(activities(after) == activities(before) + 1)
      #expect(after == (try await base.leaderboard(board)))
      #expect(try await memoized.funnel(funnel) == funnelBefore)
      #expect(try await memoized.leadFunnel(leads) == leadsBefore)
      #expect(misses() == 4, "the leaderboard only")

      try await context.deliver(try SalesFlow.lead(owner: "m-1", source: "site", status: .open, at: SalesFlow.day(2)))
      let leadsAfter = try await memoized.leadFunnel(leads)
      #expect(total(leadsAfter) == total(leadsBefore) + 1)
      #expect(leadsAfter == (try await base.leadFunnel(leads)))
      #expect(try await memoized.funnel(funnel) == funnelBefore)
      #expect(misses() == 5, "the lead funnel only")

      // Two deals of the history's pipeline opened (a flow of its own, on the same pipeline).
      try await context.deliver(try flow.newDeals(2, owner: "m-2", at: SalesFlow.day(3)))
      let funnelAfter = try await memoized.funnel(funnel)
      #expect(funnelAfter == (try await base.funnel(funnel)))
      let entered = { (reply: Crm_Reporting_V1_GetFunnelReply) in
        reply.rows.first { $0.team && $0.stageID == flow.stages[0] }?.entered ?? 0
      }
      #expect(entered(funnelAfter) == entered(funnelBefore) + 2)
      let beforeDeals = misses()
      #expect(try await memoized.leadFunnel(leads) == leadsAfter)
      #expect(misses() == beforeDeals, "the lead funnel stays kept")

      // A rebuild counts as a change of every area.
      let all = Set(ProjectionVersion.Area.allCases)
      let version = try await ProjectionVersion.current(all, context.database, logger: ReportingHarness.logger)
      let kept = misses()
      _ = try await base.rebuildProjections()
      #expect(try await ProjectionVersion.current(all, context.database, logger: ReportingHarness.logger) > version)
      #expect(try await memoized.funnel(funnel) == funnelAfter)
      #expect(try await memoized.leadFunnel(leads) == leadsAfter)
      #expect(try await memoized.leaderboard(board) == (try await base.leaderboard(board)))
      #expect(misses() == kept + 3, "each computed again after the rebuild")
    }
  }
}
