import CRMDomain
import Foundation
import JWTKit

/// Signs tokens (ES256) for principals: crmctl with the operator key, tests, and later the web
/// edge for signed-in people. Holds the private key; services hold only `TokenVerifier`s.
public struct TokenIssuer: Sendable {
  public static let defaultIssuer = "crm"

  /// JWTKit's key collection is an actor, filled once (asynchronously) with the key.
  let keys: Task<JWTKeyCollection, Never>
  public let issuer: String
  /// The public half, in PEM: what the services verify with.
  public let publicKeyPEM: String

  /// `privateKeyPEM`: a P-256 private key in PEM (PKCS#8 or SEC1), as `openssl` writes it.
  public init(privateKeyPEM: String, issuer: String = TokenIssuer.defaultIssuer) throws(InvalidField) {
    let key: ES256PrivateKey
    do {
      key = try ES256PrivateKey(pem: privateKeyPEM)
    } catch {
      throw InvalidField(field: "signing key", reason: "not a P-256 private key in PEM (\(error))")
    }
    keys = Task { await JWTKeyCollection().add(ecdsa: key) }
    publicKeyPEM = key.publicKey.pemRepresentation
    self.issuer = issuer
  }

  /// The issuer whose private key is the PEM file at `path` (crmctl, the benches); the error
  /// names the file.
  public init(privateKeyFile path: String, issuer: String = TokenIssuer.defaultIssuer) throws(InvalidField) {
    guard let pem = FileManager.default.contents(atPath: path) else {
      throw InvalidField(field: "signing key", reason: "no readable file at \(path)")
    }
    do {
      try self.init(privateKeyPEM: String(decoding: pem, as: UTF8.self), issuer: issuer)
    } catch {
      throw InvalidField(field: "signing key", reason: "\(path): \(error.reason)")
    }
  }

  /// A new random key pair (tests, and the local stack's development keys).
  public static func generatedKey() -> String { ES256PrivateKey().pemRepresentation }

  /// A token for `principal`, good for `audience` (service names) for `lifetime`.
  public func token(for principal: Principal, audience: [String], lifetime: Duration = .seconds(900)) async throws
    -> String
  {
    let now = Date()
    let claims = TokenClaims(
      iss: .init(value: issuer), aud: .init(value: audience), sub: .init(value: principal.subject),
      exp: .init(value: now.addingTimeInterval(Double(lifetime.components.seconds))), iat: .init(value: now),
      roles: principal.roles.sorted().map(\.rawValue))
    return try await keys.value.sign(claims)
  }
}
