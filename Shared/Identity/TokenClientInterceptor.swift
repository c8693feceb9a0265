import Foundation
import GRPCCore
import Synchronization

/// Where a call's token travels: the `authorization` metadata entry, `Bearer <token>` (as gRPC
/// over HTTP/2 carries it), so the same service code serves both transports.
public enum TokenMetadata {
  public static let key = "authorization"
  public static let scheme = "Bearer "

  /// The token of a call's metadata, or nil when it carries none.
  public static func token(in metadata: Metadata) -> String? {
    guard let value = metadata[stringValues: key].first(where: { _ in true }) else { return nil }
    return value.hasPrefix(scheme) ? String(value.dropFirst(scheme.count)) : value
  }
}

/// Client side: stamps every call with a token for `principal`, signed by `issuer` for the
/// `audience` (the services called). A token is reused until a minute before it expires.
public final class TokenClientInterceptor: ClientInterceptor {
  let issuer: TokenIssuer
  public let principal: Principal
  let audience: [String]
  let lifetime: Duration
  private let cached = Mutex<(token: String, renewAt: ContinuousClock.Instant)?>(nil)

  public init(issuer: TokenIssuer, principal: Principal, audience: [String], lifetime: Duration = .seconds(900)) {
    self.issuer = issuer
    self.principal = principal
    self.audience = audience
    self.lifetime = lifetime
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    request.metadata.replaceOrAddString(TokenMetadata.scheme + (try await token()), forKey: TokenMetadata.key)
    return try await next(request, context)
  }

  func token() async throws -> String {
    let now = ContinuousClock.now
    if let cached = cached.withLock({ $0 }), now < cached.renewAt { return cached.token }
    let token = try await issuer.token(for: principal, audience: audience, lifetime: lifetime)
    cached.withLock { $0 = (token, now + lifetime - .seconds(60)) }
    return token
  }
}
