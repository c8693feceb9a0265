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
    ),
    Migration(
      version: 10_102,
      name: "request replies by age",
      statements: ["CREATE INDEX request_replies_age ON request_replies (created_at)"]
    ),
    Migration(
      version: 10_103,
      name: "request replies know their request",
      statements: ["ALTER TABLE request_replies ADD COLUMN request_digest text"]
    ),
  ]

  /// How long a reply is kept: a key from a record's correlation id (`c:`) only while the record
  /// could still be delivered and executed (its deadline is at most 10 minutes ahead), a key the
  /// client chose (`r:`) for a week of retries.
  public static let correlationKeyRetention: Duration = .seconds(15 * 60)
  public static let requestIDRetention: Duration = .seconds(7 * 24 * 3600)

  /// Deletes the replies past their retention, in batches; returns how many went.
  @discardableResult
  public static func prune(client: PostgresClient, logger: Logger) async throws -> Int {
    let correlation = correlationKeyRetention.components.seconds
    let requestID = requestIDRetention.components.seconds
    var deleted = 0
    while true {
      let rows = try await client.query(
        """
        WITH old AS (
          SELECT key FROM request_replies
          WHERE created_at < now() - make_interval(secs => \(Double(correlation)))
            AND (key LIKE 'c:%' OR created_at < now() - make_interval(secs => \(Double(requestID))))
          LIMIT 1000
        )
        DELETE FROM request_replies r USING old WHERE r.key = old.key
        RETURNING 1
        """,
        logger: logger
      ).collect()
      deleted += rows.count
      if rows.count < 1000 { return deleted }
    }
  }

  /// The idempotency key of the request being handled (method, caller and request id), set by
  /// the RPC runtime; nil where the request carries none.
  @TaskLocal public static var currentKey: String?

  /// The SHA-256 of the request being handled (set with `currentKey`): a key used again for a
  /// different request is refused instead of answered with the other request's reply.
  @TaskLocal public static var currentRequestDigest: String?

  /// A second request with a stored key.
  public static let keyTaken = ConstraintViolation(kind: .unique, constraint: "request_replies_pkey")

  /// Stores `reply` under `key` (with the request's digest, `currentRequestDigest`) in the
  /// caller's transaction; a key stored before (also by a transaction still open, once it
  /// commits) fails the statement with `keyTaken`.
  public static func record(key: String, reply: [UInt8], on connection: PostgresConnection, logger: Logger)
    async throws
  {
    let digest = currentRequestDigest
    _ = try await connection.query(
      """
      INSERT INTO request_replies (key, reply, request_digest) VALUES (\(key), \(ByteBuffer(bytes: reply)), \(digest))
      """,
      logger: logger
    ).collect()
  }

  /// What is stored under a key: the reply, and the digest of the request that made it (nil for
  /// a row from before digests were kept).
  public struct Stored: Sendable, Equatable {
    public var reply: [UInt8]
    public var requestDigest: String?
  }

  /// The reply stored under `key`, if any.
  public static func stored(key: String, client: PostgresClient, logger: Logger) async throws -> Stored? {
    let rows = try await client.query(
      "SELECT reply, request_digest FROM request_replies WHERE key = \(key)", logger: logger)
    for try await (reply, digest) in rows.decode((ByteBuffer, String?).self) {
      return Stored(reply: Array(buffer: reply), requestDigest: digest)
    }
    return nil
  }

  /// The reply stored under `key`, if any.
  public static func reply(key: String, client: PostgresClient, logger: Logger) async throws -> [UInt8]? {
    try await stored(key: key, client: client, logger: logger)?.reply
  }
}
