import CRMDatabase
import CRMDomain
import Logging
import PostgresNIO
import SwiftProtobuf

/// Runs a create-like request once per idempotency key: `body` writes and stores its reply
/// under the key (`RequestReplies.record`) with the write; when it fails, a reply stored by an
/// earlier delivery of the same request is the answer (the repeat ran into the stored key, or
/// into what the first delivery changed). A key stored for a different request (a client that
/// reused its request id) is FAILED_PRECONDITION: the other request's reply would be a lie.
public func idempotent<Reply: Message>(
  client: PostgresClient, logger: Logger, _ body: (_ key: String?) async throws -> Reply
) async throws -> Reply {
  guard let key = RequestReplies.currentKey else { return try await body(nil) }
  do {
    return try await body(key)
  } catch {
    guard let stored = try await RequestReplies.stored(key: key, client: client, logger: logger) else { throw error }
    if let first = stored.requestDigest, let now = RequestReplies.currentRequestDigest, first != now {
      throw RequestIDReused()
    }
    logger.debug("a repeated request answered with its first reply", metadata: ["key": "\(key)"])
    return try Reply(serializedBytes: stored.reply)
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

/// A request id (or correlation id) the caller used before for a different request.
public struct RequestIDReused: DomainError, Equatable {
  public var status: FailureStatus { .failedPrecondition }
  public var description: String {
    "crm-request-id: used before for a different request; give each new request an id of its own"
  }

  public init() {}
}
