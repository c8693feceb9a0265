import CRMDatabase
import Foundation
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
    ),
    // A row the relay cannot publish after a few tries is parked (kept, with its last error),
    // and its aggregate's later rows wait behind it; an operator republishes it (`OutboxParking`).
    Migration(
      version: 10_003,
      name: "outbox parking",
      statements: [
        """
        ALTER TABLE outbox
          ADD COLUMN attempts integer NOT NULL DEFAULT 0,
          ADD COLUMN last_error text,
          ADD COLUMN parked_at timestamptz
        """,
        "CREATE INDEX outbox_parked ON outbox (topic, key, id) WHERE parked_at IS NOT NULL",
      ]
    ),
    // The relay sleeps while nothing is pending and wakes at this notification (sent at commit,
    // once per transaction and channel), instead of asking the table twenty times a second.
    Migration(
      version: 10_005,
      name: "outbox notifies its relay",
      statements: [
        """
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('\(appendedChannel)', '');
          RETURN NULL;
        END
        $$
        """,
        """
        CREATE TRIGGER outbox_appended AFTER INSERT ON outbox
          FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()
        """,
      ]
    ),
    // Only while the relay sleeps: a transaction that notifies takes a lock at commit that
    // serialises such commits (measured: 8 writers of one-row transactions, 3,400–6,900
    // commits/s without, 2,700–2,800 with), so a busy relay must not be notified.
    Migration(
      version: 10_006,
      name: "outbox notifies a sleeping relay only",
      statements: [
        "CREATE TABLE outbox_relay_state (sleeping boolean NOT NULL)",
        "INSERT INTO outbox_relay_state VALUES (false)",
        """
        CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF EXISTS (SELECT FROM outbox_relay_state WHERE sleeping) THEN
            PERFORM pg_notify('\(appendedChannel)', '');
          END IF;
          RETURN NULL;
        END
        $$
        """,
      ]
    ),
  ]

  /// The PostgreSQL notification channel of appends (`LISTEN crm_outbox_appended`), notified
  /// while the relay sleeps (`outbox_relay_state`).
  public static let appendedChannel = "crm_outbox_appended"

  /// Records `events` in the caller's transaction, in order, with one statement: they exist
  /// exactly when its change does. An event over `OutboxEvent.recordCap` throws `EventTooLarge`
  /// before anything is written (the caller's transaction then rolls back).
  public static func append(_ events: [OutboxEvent], on connection: PostgresConnection, logger: Logger) async throws {
    guard !events.isEmpty else { return }
    for event in events { try event.checkSize() }
    _ = try await connection.query("\(outboxInsertOf: events)", logger: logger).collect()
  }
}

extension Outbox {
  /// The `INSERT INTO outbox` statement around its five array parameters (event ids, topics,
  /// keys, types, envelopes), in order; `whenRowsIn` names a CTE of a larger statement (a
  /// data-modifying `WITH`) whose rows it waits for: the events exist only if the change does.
  static func insertParts(whenRowsIn cte: String?) -> [String] {
    [
      "INSERT INTO outbox (event_id, topic, key, type, envelope) SELECT event_id, topic, key, type, envelope FROM unnest(",
      ", ", ", ", ", ", ", ",
      ") WITH ORDINALITY AS e(event_id, topic, key, type, envelope, position)"
        + (cte.map { " WHERE EXISTS (SELECT 1 FROM \($0))" } ?? "") + " ORDER BY position",
    ]
  }

  /// The insert for a prepared statement, its parameters numbered from `firstParameter`; bind
  /// them with `bind(_:into:)`.
  public static func preparedInsert(firstParameter: Int, whenRowsIn cte: String? = nil) -> String {
    let parts = insertParts(whenRowsIn: cte)
    var sql = parts[0]
    for index in 1..<parts.count { sql += "$\(firstParameter + index - 1)" + parts[index] }
    return sql
  }

  /// The insert of a statement that writes a batch of changes, its parameters numbered from
  /// `firstParameter`: each event has an owner (a uuid, the sixth array), and is written only
  /// when its owner is among the `column` values of the CTE `cte` (the rows the statement did
  /// write). Bind them with `bind(_:owners:into:)`.
  public static func preparedInsert(firstParameter first: Int, whenOwnerIn cte: String, column: String) -> String {
    """
    INSERT INTO outbox (event_id, topic, key, type, envelope) SELECT event_id, topic, key, type, envelope \
    FROM unnest($\(first), $\(first + 1), $\(first + 2), $\(first + 3), $\(first + 4), $\(first + 5)::uuid[]) \
    WITH ORDINALITY AS e(event_id, topic, key, type, envelope, owner, position) \
    WHERE e.owner IN (SELECT \(column) FROM \(cte)) ORDER BY position
    """
  }

  /// The parameters of `preparedInsert(firstParameter:whenOwnerIn:column:)`: `owners[i]` owns
  /// `events[i]`.
  public static func bind(_ events: [OutboxEvent], owners: [UUID], into bindings: inout PostgresBindings) {
    bind(events, into: &bindings)
    bindings.append(owners)
  }

  /// The parameters of `preparedInsert` for `events`.
  public static func bind(_ events: [OutboxEvent], into bindings: inout PostgresBindings) {
    bindings.append(events.map(\.eventID))
    bindings.append(events.map(\.topic))
    bindings.append(events.map(\.key))
    bindings.append(events.map(\.type))
    bindings.append(events.map { ByteBuffer(bytes: $0.envelope) })
  }
}

extension PostgresQuery.StringInterpolation {
  /// The `INSERT INTO outbox` of `events`, in order (`Outbox.insertParts`), inside a query.
  public mutating func appendInterpolation(outboxInsertOf events: [OutboxEvent], whenRowsIn cte: String? = nil) {
    let parts = Outbox.insertParts(whenRowsIn: cte)
    let columns: [any PostgresDynamicTypeEncodable] = [
      events.map(\.eventID), events.map(\.topic), events.map(\.key), events.map(\.type),
      events.map { ByteBuffer(bytes: $0.envelope) },
    ]
    appendLiteral(parts[0])
    for (column, part) in zip(columns, parts.dropFirst()) {
      appendInterpolation(column)
      appendLiteral(part)
    }
  }
}
