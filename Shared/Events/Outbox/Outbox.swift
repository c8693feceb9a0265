import CRMDatabase
import Logging
import PostgresNIO

/// The transactional outbox (DESIGN §5): a service writes its change and its events in one
/// PostgreSQL transaction; `OutboxRelay` publishes them afterwards.
public enum Outbox {
  /// The outbox table. Kit migrations use versions from 10,000 on, services below.
  public static let migrations = [
    Migration(
      version: 10_001,
      name: "outbox",
      statements: [
        """
        CREATE TABLE outbox (
          id bigserial PRIMARY KEY,
          event_id text NOT NULL UNIQUE,
          topic text NOT NULL,
          key text NOT NULL,
          type text NOT NULL,
          envelope bytea NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          sent_at timestamptz
        )
        """,
        "CREATE INDEX outbox_pending ON outbox (id) WHERE sent_at IS NULL",
        "CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL",
      ]
    )
  ]

  /// Records `events` in the caller's transaction, in order, with one statement: they exist
  /// exactly when its change does.
  public static func append(_ events: [OutboxEvent], on connection: PostgresConnection, logger: Logger) async throws {
    guard !events.isEmpty else { return }
    _ = try await connection.query("\(outboxInsertOf: events)", logger: logger).collect()
  }
}

extension PostgresQuery.StringInterpolation {
  /// The `INSERT INTO outbox` of `events`, in order. Also for a statement that writes its change
  /// and its events at once (a data-modifying `WITH`): `whenRowsIn` names a CTE of that
  /// statement, and the events are written only if it returned a row.
  public mutating func appendInterpolation(outboxInsertOf events: [OutboxEvent], whenRowsIn cte: String? = nil) {
    appendLiteral(
      """
      INSERT INTO outbox (event_id, topic, key, type, envelope)
      SELECT event_id, topic, key, type, envelope FROM unnest(
      """)
    appendInterpolation(events.map(\.eventID))
    appendLiteral(", ")
    appendInterpolation(events.map(\.topic))
    appendLiteral(", ")
    appendInterpolation(events.map(\.key))
    appendLiteral(", ")
    appendInterpolation(events.map(\.type))
    appendLiteral(", ")
    appendInterpolation(events.map { ByteBuffer(bytes: $0.envelope) })
    appendLiteral(") WITH ORDINALITY AS e(event_id, topic, key, type, envelope, position)")
    if let cte { appendLiteral(" WHERE EXISTS (SELECT 1 FROM \(cte))") }
    appendLiteral(" ORDER BY position")
  }

}
