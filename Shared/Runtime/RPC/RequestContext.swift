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
}

/// Server side, before every handler: who calls (`CallerIdentity.current`) and the request's
/// idempotency key (`RequestReplies.currentKey`, scoped by method and caller so that two
/// callers' request ids never meet). Both come from metadata, so both are checked: at most 128
/// bytes (they are copied into every event and history row), no control or bidi characters.
public struct RequestContextInterceptor: ServerInterceptor {
  static let byteLimit = 128

  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let caller = try Self.entry(CallerIdentity.metadataKey, of: request.metadata)
    let id =
      try Self.entry(RequestIdentity.requestIDKey, of: request.metadata).map { "r:" + $0 }
      ?? request.metadata[stringValues: RequestIdentity.correlationIDKey].first(where: { _ in true }).map { "c:" + $0 }
    let key = id.map { "\(context.descriptor.fullyQualifiedMethod)|\(caller ?? "")|\($0)" }
    return try await CallerIdentity.$current.withValue(caller) {
      try await RequestReplies.$currentKey.withValue(key) {
        try await next(request, context)
      }
    }
  }

  /// The first value of a metadata entry, checked; nil when absent.
  static func entry(_ name: String, of metadata: Metadata) throws -> String? {
    guard let value = metadata[stringValues: name].first(where: { _ in true }) else { return nil }
    guard !value.isEmpty, value.utf8.count <= byteLimit else {
      throw RPCError(
        code: .invalidArgument, message: "metadata \(name): has \(value.utf8.count) bytes; expected 1 to \(byteLimit)")
    }
    guard value.unicodeScalars.allSatisfy({ Text.allowed($0, multiline: false) }) else {
      throw RPCError(code: .invalidArgument, message: "metadata \(name): holds a control or bidirectional character")
    }
    return value
  }
}
