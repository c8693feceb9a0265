import Foundation
import Logging
import PostgresNIO

/// The operator's side of parked outbox rows (rows the relay could not publish after
/// `OutboxRelay.Configuration.maxAttempts`): list them, and after the cause is fixed hand them
/// back to the relay, which publishes them first and then the rows of their aggregates that
/// waited behind them. Also replays sent rows of a time range (a broker that lost records).
public enum OutboxParking {
  /// A parked row, without its envelope.
  public struct Row: Sendable, Equatable {
    public var id: Int64
    public var eventID: String
    public var topic: String
    public var key: String
    public var type: String
    public var bytes: Int
    public var attempts: Int
    public var lastError: String
    public var createdAt: Date
    public var parkedAt: Date
    /// Rows of the same aggregate waiting behind this one.
    public var waiting: Int
  }

  /// How many rows are parked, and the oldest one's id (nil when none).
  public struct Summary: Sendable, Equatable {
    public var parked: Int
    public var oldestID: Int64?
  }

  public static func summary(_ client: PostgresClient, logger: Logger) async throws -> Summary {
    let rows = try await client.query(
      "SELECT count(*)::bigint, min(id) FROM outbox WHERE parked_at IS NOT NULL",
      logger: logger
    )
    for try await (count, oldest) in rows.decode((Int64, Int64?).self) {
      return Summary(parked: Int(count), oldestID: oldest)
    }
    return Summary(parked: 0, oldestID: nil)
  }

  /// Parked rows, oldest first.
  public static func list(_ client: PostgresClient, limit: Int = 1_000, logger: Logger) async throws -> [Row] {
    let rows = try await client.query(
      """
      SELECT id, event_id, topic, key, type, octet_length(envelope), attempts, coalesce(last_error, ''),
        created_at, parked_at,
        (SELECT count(*) FROM outbox w WHERE w.sent_at IS NULL AND w.topic = p.topic AND w.key = p.key AND w.id > p.id)
      FROM outbox p WHERE parked_at IS NOT NULL ORDER BY id LIMIT \(limit)
      """,
      logger: logger
    )
    var result: [Row] = []
    for try await (id, eventID, topic, key, type, bytes, attempts, error, created, parked, waiting) in rows.decode(
      (Int64, String, String, String, String, Int32, Int32, String, Date, Date, Int64).self
    ) {
      result.append(
        Row(
          id: id, eventID: eventID, topic: topic, key: key, type: type, bytes: Int(bytes), attempts: Int(attempts),
          lastError: error, createdAt: created, parkedAt: parked, waiting: Int(waiting)))
    }
    return result
  }

  /// Hands parked rows back to the relay (all of them when `ids` is nil), with their attempts
  /// reset; returns how many. The last error stays until the row is published.
  @discardableResult
  public static func republish(_ client: PostgresClient, ids: [Int64]?, logger: Logger) async throws -> Int {
    let query: PostgresQuery =
      if let ids {
        "UPDATE outbox SET parked_at = NULL, attempts = 0 WHERE parked_at IS NOT NULL AND id = ANY(\(ids)) RETURNING id"
      } else {
        "UPDATE outbox SET parked_at = NULL, attempts = 0 WHERE parked_at IS NOT NULL RETURNING id"
      }
    return try await client.query(query, logger: logger).collect().count
  }

  /// Marks the rows sent in `[from, to)` unsent, so the relay publishes them again in id order
  /// (for a broker that lost them; consumers' inboxes skip the ones they had); returns how many.
  /// Only rows the relay still keeps (`OutboxRelay.Configuration.retention`) can come back.
  @discardableResult
  public static func replay(_ client: PostgresClient, sentFrom from: Date, to: Date, logger: Logger) async throws
    -> Int
  {
    try await client.query(
      "UPDATE outbox SET sent_at = NULL WHERE sent_at >= \(from) AND sent_at < \(to) RETURNING id",
      logger: logger
    ).collect().count
  }
}
