import PostgresNIO
import Testing

@testable import ReportingService

/// The funnel cells' histograms are read from PostgreSQL's binary array format by hand
/// (`StayCounts`): the same numbers as postgres-nio's `[Int64]`, and anything else refused.
@Suite("Reporting: histogram arrays read by hand")
struct StayCountsTests {
  @Test func bigintArraysReadAsPostgresNIOReadsThem() async throws {
    try await ReportingHarness.with { context in
      let rows = try await context.database.query(
        """
        SELECT ARRAY[0, 1, -2, 9223372036854775807, -9223372036854775808]::bigint[],
          ARRAY[0, 1, -2, 9223372036854775807, -9223372036854775808]::bigint[], '{}'::bigint[],
          (SELECT array_agg(i::bigint * 1000003) FROM generate_series(1, 64) i)
        """
      ).collect()
      let (mine, theirs, empty, long) = try rows[0].decode((StayCounts, [Int64], StayCounts, StayCounts).self)
      #expect(mine.counts == theirs && mine.counts[3] == .max && mine.counts[4] == .min)
      #expect(empty.counts.isEmpty)
      #expect(long.counts == (1...64).map { Int64($0) * 1_000_003 })
      // A null element, another element type or two dimensions: refused, not misread.
      for query in [
        "SELECT ARRAY[1, NULL]::bigint[]", "SELECT ARRAY[1, 2]::int[]", "SELECT ARRAY[[1, 2], [3, 4]]::bigint[]",
      ] {
        let row = try await context.database.query(PostgresQuery(unsafeSQL: query)).collect()
        #expect(throws: (any Error).self, "\(query)") { _ = try row[0].decode(StayCounts.self) }
      }
    }
  }
}
