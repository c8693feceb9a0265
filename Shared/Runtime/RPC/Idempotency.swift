import CRMDatabase
import CRMRPC
import GRPCCore
import Logging
import PostgresNIO
import SwiftProtobuf

/// Where a request's idempotency key comes from: an explicit `crm-request-id` the client sets
/// (the same on its retries), else the correlation id the Kafka transport read from the request
/// record (the same when the record is delivered again).
public enum RequestIdentity {
  public static let requestIDKey = "crm-request-id"
  /// Set by the Kafka server transport from the record, replacing any value a client sent.
  public static let correlationIDKey = KafkaServerTransport.correlationMetadataKey
  public static let byteLimit = 128
}

/// Server side: makes the request's idempotency key (`RequestReplies.currentKey`) available to
/// the handler, scoped by method and caller so that two callers' request ids never meet.
public struct IdempotencyKeyInterceptor: ServerInterceptor {
  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let explicit = request.metadata[stringValues: RequestIdentity.requestIDKey].first(where: { _ in true })
    if let explicit {
      guard !explicit.isEmpty, explicit.utf8.count <= RequestIdentity.byteLimit,
        explicit.unicodeScalars.allSatisfy({ Text.allowed($0, multiline: false) })
      else {
        throw RPCError(
          code: .invalidArgument,
          message:
            "metadata \(RequestIdentity.requestIDKey): expected 1 to \(RequestIdentity.byteLimit) bytes without control characters"
        )
      }
    }
    let id =
      explicit.map { "r:" + $0 }
      ?? request.metadata[stringValues: RequestIdentity.correlationIDKey]
      .first(where: { _ in true }).map { "c:" + $0 }
    let key = id.map { "\(context.descriptor.fullyQualifiedMethod)|\(CallerIdentity.current ?? "")|\($0)" }
    return try await RequestReplies.$currentKey.withValue(key) {
      try await next(request, context)
    }
  }
}

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
