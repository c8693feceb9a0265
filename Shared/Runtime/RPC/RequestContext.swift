import CRMDomain
import CRMEvents
import CRMRPC
import Crypto
import Foundation
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
/// callers' request ids never meet; a caller is only a name until tokens are verified). Both come from metadata, so both are checked: at most 128
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
    let key: String? =
      if let id = try Self.entry(RequestIdentity.requestIDKey, of: request.metadata) {
        Self.key("r", method: context.descriptor.fullyQualifiedMethod, caller: caller, id: id)
      } else if let id = request.metadata[stringValues: RequestIdentity.correlationIDKey].first(where: { _ in true }) {
        Self.key("c", method: context.descriptor.fullyQualifiedMethod, caller: caller, id: id)
      } else {
        nil
      }
    return try await CallerIdentity.$current.withValue(caller) {
      try await RequestReplies.$currentKey.withValue(key) {
        try await next(request, context)
      }
    }
  }

  /// `kind:` and the SHA-256 of method, caller and id, each length-prefixed: no two different
  /// triples give one key whatever characters they hold, and every key has the same short size.
  /// `kind` is `r` for an id the client chose, `c` for a record's correlation id (kept shorter).
  static func key(_ kind: String, method: String, caller: String?, id: String) -> String {
    var hash = SHA256()
    for part in [method, caller ?? "", id] {
      let bytes = Array(part.utf8)
      hash.update(data: withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { Array($0) } + bytes)
    }
    return kind + ":" + hash.finalize().map { String(format: "%02x", $0) }.joined()
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
