import CRMDomain
import CRMEvents
import CRMRPC
import GRPCCore

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
