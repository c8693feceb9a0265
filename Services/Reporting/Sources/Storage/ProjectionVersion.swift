import Logging
import PostgresNIO

/// Counters of the projections' changes (`projection_versions`, one row per area): every
/// transaction that changes a read model adds one to the areas it changed before it commits, so
/// a reader that sees a count also sees every change counted in it. `ReportMemo` keys its replies
/// on the areas a report reads: an activity logged does not recompute a funnel. A replica's own
/// projector is not the only writer (another replica's, a rebuild), so they are read from the
/// database.
enum ProjectionVersion {
  enum Area: String, CaseIterable, Sendable {
    /// Pipelines, deals, their versions and stage visits, and the sums kept from them.
    case deals
    /// Leads and their sums.
    case leads
    /// Activities, end-of-day reports, QC reviews and cards.
    case team
  }

  static let table = """
    CREATE TABLE projection_versions (
      area text PRIMARY KEY,
      version bigint NOT NULL
    )
    """
  static let rows = "INSERT INTO projection_versions (area, version) VALUES ('deals', 0), ('leads', 0), ('team', 0)"

  /// In the writer's transaction, after its writes: the rows' locks are held to the commit, so
  /// concurrent writers (replicas' projectors) count one after another. The rows are locked in the areas'
  /// order (an UPDATE alone takes them in the table's order, which every update changes), so two
  /// writers of the same areas cannot deadlock.
  static func advance(
    _ areas: Set<Area> = Set(Area.allCases), on connection: PostgresConnection, logger: Logger
  ) async throws {
    guard !areas.isEmpty else { return }
    _ = try await connection.query(
      """
      UPDATE projection_versions SET version = version + 1
      WHERE area IN (
        SELECT area FROM projection_versions WHERE area = ANY(\(areas.map(\.rawValue))) ORDER BY area FOR UPDATE)
      """, logger: logger
    ).collect()
  }

  /// The sum of `areas`' counts: it grows whenever one of them does.
  static func current(_ areas: Set<Area>, _ client: PostgresClient, logger: Logger) async throws -> Int64 {
    let rows = try await client.query(
      "SELECT coalesce(sum(version), 0)::bigint FROM projection_versions WHERE area = ANY(\(areas.map(\.rawValue)))",
      logger: logger)
    for try await version in rows.decode(Int64.self) { return version }
    return 0
  }
}
