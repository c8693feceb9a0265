import CRMDatabase
import Foundation
import Logging
import PostgresNIO

/// Rebuilds every projection from `events`: in one transaction, empties them all (their
/// serial counters too) and replays the stored events by seq, a chunk at a time, through the same
/// `Projector` the inbox uses (batches give the rows one-at-a-time application gives). `events` is locked against inserts meanwhile (SHARE), so the inbox waits and
/// then projects its batch onto the rebuilt rows; readers see the old rows until the commit.
struct ProjectionRebuild: Sendable {
  /// Events read per round trip.
  static let chunk = 2_000

  struct Summary: Equatable, Sendable {
    var events = 0
    var projected = 0
    var stale = 0
    var unknown = 0
  }

  let client: PostgresClient
  let logger: Logger

  func run() async throws -> Summary {
    try await client.withTransaction(logger: logger) { connection in
      try await rebuild(on: connection)
    }
  }

  func rebuild(on connection: PostgresConnection) async throws -> Summary {
    // The inbox takes events then projections; so does this: no deadlock between them.
    _ = try await connection.query("LOCK TABLE events IN SHARE MODE", logger: logger).collect()
    // DELETE, not TRUNCATE: the runtime role owns nothing and may not truncate (nor restart a
    // sequence it does not own); it may set one. Referencing tables first.
    for table in ReportingSchema.projectionTables.reversed() {
      _ = try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table)"), logger: logger).collect()
    }
    for (table, column) in ReportingSchema.projectionSerials {
      _ = try await connection.query(
        "SELECT setval(pg_get_serial_sequence(\(table), \(column)), 1, false)", logger: logger
      ).collect()
    }
    try await ProjectionVersion.advance(on: connection, logger: logger)
    let projector = Projector(logger: logger)
    var summary = Summary()
    var after: Int64 = 0
    while true {
      let rows = try await connection.query(
        """
        SELECT seq, event_id, topic, partition, record_offset, type, aggregate_id, aggregate_version, actor,
          occurred_at, payload
        FROM events WHERE seq > \(after) ORDER BY seq LIMIT \(Self.chunk)
        """, logger: logger)
      var batch: [StoredEvent] = []
      for try await (seq, id, topic, partition, offset, type, aggregateID, version, actor, occurredAt, payload)
        in rows.decode((Int64, String, String, Int32, Int64, String, String, Int64, String, Date?, ByteBuffer).self)
      {
        after = seq
        batch.append(
          StoredEvent(
            eventID: id, topic: topic, partition: partition, offset: offset, type: type, aggregateID: aggregateID,
            aggregateVersion: version, actor: actor, occurredAt: occurredAt, payload: Data(payload.readableBytesView)))
      }
      guard !batch.isEmpty else { return summary }
      summary.events += batch.count
      for outcome in try await projector.project(batch, on: connection) {
        switch outcome {
        case .projected: summary.projected += 1
        case .stale: summary.stale += 1
        case .unknown: summary.unknown += 1
        }
      }
    }
  }
}
