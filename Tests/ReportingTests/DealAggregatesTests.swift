import CRMContracts
import Foundation
import PostgresNIO
import Testing

@testable import ReportingService

/// The sums the funnel and the forecast read (`DealAggregates`): the projector keeps them equal
/// to a fill from the projections (and a rebuild too), and the funnel read from them gives the
/// figures the stage visits give (the median within its histogram bucket).
@Suite("Reporting deal aggregates")
struct DealAggregatesTests {
  /// The non-zero rows of the four tables as text, ordered.
  static func sums(_ context: ReportingHarness.Context) async throws -> [String] {
    var dump: [String] = []
    for (table, nonZero) in [
      ("funnel_cells", "visits"), ("forecast_open", "deals"), ("forecast_closed", "closed"),
      ("leaderboard_closed", "closed"),
    ] {
      let rows = try await context.database.query(
        PostgresQuery(
          unsafeSQL:
            "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM \(table) t WHERE \(nonZero) <> 0"))
      dump.append(try await rows.decode(String.self).first { _ in true } ?? "")
    }
    return dump
  }

  @Test func theProjectorKeepsTheSumsAFillFromTheProjectionsGives() async throws {
    try await ReportTests.withHistory { context, flow in
      let kept = try await Self.sums(context)
      #expect(kept.allSatisfy { !$0.isEmpty }, "every table has rows")
      try await ReportingComponents.refillAggregates(client: context.database, logger: ReportingHarness.logger)
      #expect(try await Self.sums(context) == kept)
      _ = try await context.as("operator:crmctl") { try await context.reporting.rebuildProjections(.init()) }
      #expect(try await Self.sums(context) == kept)
      // The five deals' visits of the history, per stage, in the team cell of every kind and source.
      let visits = try await context.count(
        "SELECT sum(visits)::bigint FROM funnel_cells WHERE kind = '' AND every_source AND month = '-infinity' AND pipeline_id = \(flow.pipelineID)"
      )
      #expect(visits == (try await context.count("SELECT count(*) FROM stage_visits")))
    }
  }

  @Test func theFunnelFromTheCellsGivesTheVisitsFigures() async throws {
    try await ReportTests.withHistory { context, flow in
      var repository = PostgresReportingRepository(client: context.database, logger: ReportingHarness.logger)
      repository.funnelExactVisits = -1
      let january = ReportPeriod(
        from: Date(timeIntervalSince1970: 1_767_225_600), to: Date(timeIntervalSince1970: 1_769_904_000))
      for (kind, source, period) in [
        (nil, nil, ReportPeriod.all), ("consultative", nil, .all), (nil, "cold", .all), (nil, nil, january),
        ("active", "cold", ReportPeriod(from: january.from, to: nil)),
      ] as [(String?, String?, ReportPeriod)] {
        let query = FunnelQuery(
          pipelineID: flow.pipelineID, period: period, kind: kind, source: source, ownerID: nil, visibility: .everyone)
        let months = try #require(WholeMonths(period))
        let (cells, _) = try await repository.funnelFromCells(query, months)
        let exact = try await repository.funnelFromVisits(query)
        let key = { (row: PostgresReportingRepository.FunnelFigures) in "\(row.stage)/\(row.owner)/\(row.team)" }
        #expect(!exact.isEmpty)
        #expect(Set(cells.map(key)) == Set(exact.map(key)), "\(kind ?? "-") \(source ?? "-")")
        for row in exact {
          var estimated = try #require(cells.first { key($0) == key(row) })
          #expect(abs(estimated.median - row.median) <= max(60, row.median * (pow(2, 1.0 / 3) - 1)), "\(key(row))")
          estimated.median = row.median
          #expect(estimated == row)
        }
      }
      // A month with no visit, and a period that cuts a month (the visits answer it).
      let february = WholeMonths(ReportPeriod(from: Date(timeIntervalSince1970: 1_769_904_000), to: nil))
      let query = FunnelQuery(
        pipelineID: flow.pipelineID, period: .all, kind: nil, source: nil, ownerID: nil, visibility: .everyone)
      #expect(try await repository.funnelFromCells(query, try #require(february)).0.isEmpty)
      #expect(WholeMonths(ReportPeriod(from: SalesFlow.day(1), to: nil)) == nil)
    }
  }

  @Test func staysFallInTheBucketsTheDatabaseGivesThem() async throws {
    try await ReportTests.withHistory { context, _ in
      for seconds: Double in [0, 59.9, 60, 61, 75.6, 3_600, 86_400, 129_600, 1e8, 1e9] {
        let rows = try await context.database.query(
          PostgresQuery(
            unsafeSQL: """
              SELECT \(StayHistogram.sqlBucket) FROM (SELECT 'won' AS outcome, to_timestamp(0) AS entered_at,
                to_timestamp(0) + make_interval(secs => \(seconds)) AS left_at) s
              """))
        let bucket = try #require(try await rows.decode(Int.self).first { _ in true })
        #expect(bucket == StayHistogram.bucket(seconds), "\(seconds) s")
        #expect(StayHistogram.lower(bucket) <= seconds && (seconds < StayHistogram.upper(bucket) || bucket == 63))
      }
    }
  }

  @Test func theHistogramMedianIsWithinTheBucketOfTheTrueOne() {
    let stays: [Double] = [86_400, 172_800, 86_400, 432_000, 3_600, 7 * 86_400, 45]
    var histogram = StayHistogram()
    for stay in stays { histogram.counts[StayHistogram.bucket(stay)] += 1 }
    let exact = Median.of(stays)!
    #expect(histogram.total == Int64(stays.count))
    #expect(abs(histogram.median - exact) <= exact * (pow(2, 1.0 / 3) - 1))
    #expect(StayHistogram().median == 0)
    let one = StayHistogram(counts: [0, 3])
    #expect(one.median > 60 && one.median < StayHistogram.upper(1))
  }
}
