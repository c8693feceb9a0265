import CRMDomain
import Foundation
import JWTKit
import Synchronization

/// Verifies the tokens a service is called with: signed by a trusted key, from the expected
/// issuer, for this service's audience, not expired, naming a valid subject and known roles.
/// Every refusal is `Unauthenticated` with the reason.
public struct TokenVerifier: Sendable {
  /// The longest token read at all (a real one is ~500 bytes).
  public static let maximumTokenBytes = 4096

  /// JWTKit's key collection is an actor, filled once (asynchronously) from the parsed keys.
  let keys: Task<JWTKeyCollection, Never>
  public let issuer: String
  /// The service this verifier accepts tokens for (`aud` must name it).
  public let audience: String
  /// Tokens verified already, until they expire: a caller's every call carries the same token,
  /// and the transport and the handler's interceptor both ask. Bounded; emptied when full.
  private let verified = Cache()

  final class Cache: Sendable {
    static let capacity = 4096
    let entries = Mutex<[String: (principal: Principal, expires: Date)]>([:])
  }

  /// `publicKeysPEM`: the issuers' P-256 public keys (one PEM text may hold several keys, e.g.
  /// the old and the new during a rotation); any of them may have signed a token.
  public init(publicKeysPEM: String, audience: String, issuer: String = TokenIssuer.defaultIssuer)
    throws(InvalidField)
  {
    let blocks = Self.pemBlocks(publicKeysPEM)
    guard !blocks.isEmpty else { throw InvalidField(field: "verify keys", reason: "no PEM public key found") }
    var parsed: [ES256PublicKey] = []
    for (index, block) in blocks.enumerated() {
      do {
        parsed.append(try ES256PublicKey(pem: block))
      } catch {
        throw InvalidField(field: "verify keys", reason: "key \(index + 1) is not a P-256 public key in PEM (\(error))")
      }
    }
    keys = Task {
      let keys = JWTKeyCollection()
      for (index, key) in parsed.enumerated() { await keys.add(ecdsa: key, kid: JWKIdentifier(string: "key-\(index)")) }
      return keys
    }
    self.issuer = issuer
    self.audience = audience
  }

  /// The principal a token proves, or why not.
  public func principal(from token: String) async throws(Unauthenticated) -> Principal {
    guard token.utf8.count <= Self.maximumTokenBytes else {
      throw Unauthenticated("the token has \(token.utf8.count) bytes; at most \(Self.maximumTokenBytes)")
    }
    if let known = verified.entries.withLock({ $0[token] }), Date() < known.expires { return known.principal }
    let claims: TokenClaims
    do {
      // Every trusted key is tried: tokens carry no key id (the issuer's is not ours to trust).
      claims = try await keys.value.verify(token, as: TokenClaims.self, iteratingKeys: true)
    } catch let error as JWTError where error.errorType == .claimVerificationFailure {
      throw Unauthenticated("the token has expired")
    } catch let error as JWTError where error.errorType == .signatureVerificationFailed {
      throw Unauthenticated("the token's signature is not from a trusted key")
    } catch {
      throw Unauthenticated("the token cannot be read or verified (\(String(describing: error).prefix(200)))")
    }
    guard claims.iss.value == issuer else {
      throw Unauthenticated("the token's issuer is \"\(claims.iss.value.prefix(64))\"; expected \"\(issuer)\"")
    }
    guard claims.aud.value.contains(audience) else {
      throw Unauthenticated(
        "the token is for \(claims.aud.value.prefix(8).map { "\"\($0.prefix(64))\"" }.joined(separator: ", ")), "
          + "not for \"\(audience)\"")
    }
    var roles: Set<Role> = []
    for name in claims.roles.prefix(16) {
      guard let role = Role(rawValue: name) else {
        throw Unauthenticated("the token grants an unknown role \"\(name.prefix(64))\"")
      }
      roles.insert(role)
    }
    let principal: Principal
    do {
      principal = try Principal(subject: claims.sub.value, roles: roles)
    } catch {
      throw Unauthenticated("the token's subject or roles: \(error)")
    }
    verified.entries.withLock {
      if $0.count >= Cache.capacity { $0.removeAll() }
      $0[token] = (principal, claims.exp.value)
    }
    return principal
  }

  /// The PEM blocks in a text, each from its BEGIN line to its END line.
  static func pemBlocks(_ text: String) -> [String] {
    var blocks: [String] = []
    var current: [Substring]?
    for line in text.split(whereSeparator: \.isNewline) {
      if line.hasPrefix("-----BEGIN ") { current = [line] } else if current != nil { current!.append(line) }
      if line.hasPrefix("-----END "), let lines = current {
        blocks.append(lines.joined(separator: "\n") + "\n")
        current = nil
      }
    }
    return blocks
  }
}
