import CRMDatabase
import Logging
import PostgresNIO

/// Replies of create-like requests by idempotency key (DESIGN §5). A create stores its reply
/// under the request's key in its own transaction (or statement); a request delivered again —
/// after a crash between the database commit and the offset commit, or a client's retry with
/// the same request id — runs into the key and answers the stored reply instead of creating a
/// second card or deal and a second event.
public enum RequestReplies {
  /// Kit migrations use versions from 10,000 on (the outbox 10,001, the inbox 10,002).
  public static let migrations = [
    Migration(
      version: 10_101,
      name: "request replies",
      statements: [
        """
        CREATE TABLE request_replies (
          key text PRIMARY KEY,
          reply bytea NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        )
        """
      ]
    )
  ]

  /// The idempotency key of the request being handled (method, caller and request id), set by
  /// the RPC runtime; nil where the request carries none.
  @TaskLocal public static var currentKey: String?

  /// A second request with a stored key.
  public static let keyTaken = ConstraintViolation(kind: .unique, constraint: "request_replies_pkey")

  /// Stores `reply` under `key` in the caller's transaction; a key stored before (also by a
  /// transaction still open, once it commits) fails the statement with `keyTaken`.
  public static func record(key: String, reply: [UInt8], on connection: PostgresConnection, logger: Logger)
    async throws
  {
    _ = try await connection.query(
      "INSERT INTO request_replies (key, reply) VALUES (\(key), \(ByteBuffer(bytes: reply)))", logger: logger
    ).collect()
  }

  /// The reply stored under `key`, if any.
  public static func reply(key: String, client: PostgresClient, logger: Logger) async throws -> [UInt8]? {
    let rows = try await client.query("SELECT reply FROM request_replies WHERE key = \(key)", logger: logger)
    for try await reply in rows.decode(ByteBuffer.self) { return Array(buffer: reply) }
    return nil
  }
}
