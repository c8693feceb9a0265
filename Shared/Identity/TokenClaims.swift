import JWTKit

/// The claims of a CRM token (RFC 7519): issuer, audience (the services it is good for),
/// subject, expiry, issued-at, and the roles it grants.
struct TokenClaims: JWTPayload, Equatable {
  var iss: IssuerClaim
  var aud: AudienceClaim
  var sub: SubjectClaim
  var exp: ExpirationClaim
  var iat: IssuedAtClaim
  var roles: [String]

  /// Signature checked already; what every token must say whatever service reads it. The
  /// audience is checked by `TokenVerifier`, which knows the service.
  func verify(using algorithm: some JWTAlgorithm) async throws {
    try exp.verifyNotExpired()
  }
}
