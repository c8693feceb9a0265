import Logging
import PostgresNIO

/// How the projector keeps a table of sums true to its rows (`DealAggregates`, `LeadAggregates`):
/// the shares of the rows a batch touches are taken out before its writes and put back after,
/// in its transaction. `change` is one statement counting the shares of rows `$2` (text[]) `$1`
/// times (−1 or 1).
enum SumsKeeping {
  static func keeping(
    _ ids: [String], change: String, on connection: PostgresConnection, logger: Logger,
    write: () async throws -> Void
  ) async throws {
    guard !ids.isEmpty else { return try await write() }
    try await apply(change, sign: -1, ids: ids, on: connection, logger: logger)
    try await write()
    try await apply(change, sign: 1, ids: ids, on: connection, logger: logger)
  }

  private static func apply(
    _ change: String, sign: Int32, ids: [String], on connection: PostgresConnection, logger: Logger
  ) async throws {
    var binds = PostgresBindings()
    binds.append(sign)
    binds.append(ids)
    _ = try await connection.query(PostgresQuery(unsafeSQL: change, binds: binds), logger: logger).collect()
  }
}
