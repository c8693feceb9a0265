import CRMDatabase
import Logging
import PostgresNIO
import SwiftProtobuf

/// Runs a create-like request once per idempotency key: `body` writes and stores its reply
/// under the key (`RequestReplies.record`) with the write; when it fails, a reply stored by an
/// earlier delivery of the same request is the answer (the repeat ran into the stored key, or
/// into what the first delivery changed).
public func idempotent<Reply: Message>(
  client: PostgresClient, logger: Logger, _ body: (_ key: String?) async throws -> Reply
) async throws -> Reply {
  guard let key = RequestReplies.currentKey else { return try await body(nil) }
  do {
    return try await body(key)
  } catch {
    guard let stored = try await RequestReplies.reply(key: key, client: client, logger: logger) else { throw error }
    logger.debug("a repeated request answered with its first reply", metadata: ["key": "\(key)"])
    return try Reply(serializedBytes: stored)
  }
}

extension RequestReplies {
  /// Stores `reply` under `key` (when the request has one) in the caller's transaction.
  public static func record(
    _ reply: some Message, key: String?, on connection: PostgresConnection, logger: Logger
  ) async throws {
    guard let key else { return }
    try await record(key: key, reply: try reply.serializedBytes(), on: connection, logger: logger)
  }
}
