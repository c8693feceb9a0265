import CRMDomain
import CRMEvents
import CRMIdentity
import CRMRPC
import Crypto
import Foundation
import GRPCCore
import SwiftProtobuf

/// Where a request's idempotency key comes from: an explicit `crm-request-id` the client sets
/// (the same on its retries), else the correlation id the Kafka transport read from the request
/// record (the same when the record is delivered again).
public enum RequestIdentity {
  public static let requestIDKey = "crm-request-id"
  /// Set by the Kafka server transport from the record, replacing any value a client sent.
  public static let correlationIDKey = KafkaServerTransport.correlationMetadataKey
}

/// Server side, before every handler: who calls and whether he may. The call's token is
/// verified (missing, expired, forged, for another service → UNAUTHENTICATED), the method's
/// rule checked against the principal's roles (→ PERMISSION_DENIED naming the rule), and the
/// handler runs with `Principal.current` set — never a header. Also the request's idempotency
/// key (`RequestReplies.currentKey`), scoped by method and principal so that two callers'
/// request ids never meet; a client's request id is checked (at most 128 bytes, they are
/// copied into rows; no control or bidi characters).
public struct RequestContextInterceptor: ServerInterceptor {
  static let byteLimit = 128
  let verifier: TokenVerifier
  let policy: AccessPolicy

  public init(verifier: TokenVerifier, policy: AccessPolicy) {
    self.verifier = verifier
    self.policy = policy
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let method = context.descriptor.fullyQualifiedMethod
    let principal: Principal
    do {
      guard let token = TokenMetadata.token(in: request.metadata) else {
        throw Unauthenticated("the call carries no token (metadata \(TokenMetadata.key): Bearer …)")
      }
      principal = try await verifier.principal(from: token)
      try policy.check(principal, calling: method)
    } catch let error as any DomainError {
      throw RPCError(code: error.status.code, message: error.description)
    }
    let caller = principal.description
    let key: String? =
      if let id = try Self.entry(RequestIdentity.requestIDKey, of: request.metadata) {
        Self.key("r", method: method, caller: caller, id: id)
      } else if let id = request.metadata[stringValues: RequestIdentity.correlationIDKey].first(where: { _ in true }) {
        Self.key("c", method: method, caller: caller, id: id)
      } else {
        nil
      }
    var request = request
    var digest: String?
    if key != nil { (request.messages, digest) = try await Self.fingerprinted(request.messages) }
    return try await Principal.$current.withValue(principal) {
      try await RequestReplies.$currentKey.withValue(key) {
        try await RequestReplies.$currentRequestDigest.withValue(digest) {
          try await next(request, context)
        }
      }
    }
  }

  /// The request's messages, read here and handed on unchanged, and the SHA-256 of their
  /// encoding: a key used again must come with the same request (`RequestIDReused`). Every
  /// method is unary (the Kafka transport carries exactly one message), so this reads one.
  static func fingerprinted<Input: Sendable>(_ messages: RPCAsyncSequence<Input, any Error>) async throws -> (
    RPCAsyncSequence<Input, any Error>, String?
  ) {
    var read: [Input] = []
    var hash = SHA256()
    var options = BinaryEncodingOptions()
    options.useDeterministicOrdering = true  // maps in one order, so one request has one digest
    for try await message in messages {
      read.append(message)
      guard let message = message as? any SwiftProtobuf.Message else { continue }
      let bytes: [UInt8] = try message.serializedBytes(options: options)
      hash.update(data: withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { Array($0) } + bytes)
    }
    let (stream, continuation) = AsyncThrowingStream<Input, any Error>.makeStream()
    for message in read { continuation.yield(message) }
    continuation.finish()
    return (RPCAsyncSequence(wrapping: stream), Hex.lowercase(hash.finalize()))
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
    return kind + ":" + Hex.lowercase(hash.finalize())
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
