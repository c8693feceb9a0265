import Logging
import PostgresNIO

/// A counter of the projections' changes (`projection_version`, one row): every transaction that
/// changes a read model adds one before it commits, so a reader that sees version N also sees
/// every change counted up to N. `ReportMemo` keys its replies on it; a replica's own projector
/// is not the only writer (another replica's, a rebuild), so it is read from the database.
enum ProjectionVersion {
  static let table = """
    CREATE TABLE projection_version (
      only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
      version bigint NOT NULL
    )
    """
  static let firstRow = "INSERT INTO projection_version (version) VALUES (0)"

  /// In the writer's transaction: its row lock is held to the commit, so concurrent writers
  /// (replicas' projectors) count one after another.
  static func advance(on connection: PostgresConnection, logger: Logger) async throws {
    _ = try await connection.query("UPDATE projection_version SET version = version + 1", logger: logger)
      .collect()
  }

  static func current(_ client: PostgresClient, logger: Logger) async throws -> Int64 {
    let rows = try await client.query("SELECT version FROM projection_version", logger: logger)
    for try await version in rows.decode(Int64.self) { return version }
    return 0
  }
}
