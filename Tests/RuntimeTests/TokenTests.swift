import CRMDomain
import CRMIdentity
import Foundation
import Testing

/// Tokens and principals as pure logic (the services' use of them: SystemTests/IdentityTests).
@Suite("Tokens and principals")
struct TokenTests {
  let old = try! TokenIssuer(privateKeyPEM: TokenIssuer.generatedKey())
  let new = try! TokenIssuer(privateKeyPEM: TokenIssuer.generatedKey())
  let manager = try! Principal(parsing: "manager:m-17")

  @Test func aRotationTrustsBothKeysAndNothingElse() async throws {
    let verifier = try TokenVerifier(publicKeysPEM: old.publicKeyPEM + "\n" + new.publicKeyPEM, audience: "deals")
    for issuer in [old, new] {
      let principal = try await verifier.principal(from: try await issuer.token(for: manager, audience: ["deals"]))
      #expect(principal == manager)
      #expect(principal.description == "manager:m-17")
    }
    let stranger = try TokenIssuer(privateKeyPEM: TokenIssuer.generatedKey())
    await #expect(throws: Unauthenticated.self) {
      _ = try await verifier.principal(from: try await stranger.token(for: manager, audience: ["deals"]))
    }
  }

  /// A token whose header says `alg: none` (no signature), or whose payload was changed after
  /// signing (a manager making himself an operator), is refused.
  @Test func unsignedOrAlteredTokensAreRefused() async throws {
    let verifier = try TokenVerifier(publicKeysPEM: old.publicKeyPEM, audience: "deals")
    let token = try await old.token(for: manager, audience: ["deals"])
    let parts = token.split(separator: ".").map(String.init)
    func base64URL(_ text: String) -> String {
      Data(text.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
        .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
    let payload = try #require(Data(base64Encoded: parts[1].padded()))
    let raised = String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "\"manager\"", with: "\"operator\"")
    #expect(raised.contains("operator"))
    let forged = [
      base64URL(#"{"alg":"none","typ":"JWT"}"#) + "." + parts[1] + ".",
      parts[0] + "." + base64URL(raised) + "." + parts[2],
      parts[0] + "." + parts[1] + "." + String(parts[2].reversed()),
    ]
    for token in forged {
      await #expect(throws: Unauthenticated.self, "\(token.prefix(40))") {
        _ = try await verifier.principal(from: token)
      }
    }
  }

  @Test func principalsAreRoleAndALowerCaseSubject() throws {
    #expect(try Principal(parsing: "head_of_sales:h-1").roles == [.headOfSales])
    for bad in [
      "manager", "boss:m-1", "manager:", "manager:M-17", "manager:m 17", "manager:" + String(repeating: "m", count: 65),
    ] {
      #expect(throws: InvalidField.self, "\(bad)") { try Principal(parsing: bad) }
    }
    let both = try Principal(subject: "h-1", roles: [.manager, .headOfSales])
    #expect(both.role == .headOfSales && both.description == "head_of_sales:h-1")
    #expect(both.replyTopicPrefix == "crm.rpc.reply.head_of_sales.h-1.")
  }

  @Test func aManagerChangesOnlyWhatHeOwns() throws {
    #expect(manager.mayChange(ownedBy: "m-17"))
    #expect(!manager.mayChange(ownedBy: "m-18"))
    #expect(try Principal(parsing: "head_of_sales:h-1").mayChange(ownedBy: "m-18"))
    #expect(!(try Principal(parsing: "qc_reviewer:r-1")).mayChange(ownedBy: "r-1"))
    let policy = AccessPolicy(["s/Read": .init([.manager], "managers read")])
    #expect(throws: PermissionDenied.self) { try policy.check(try Principal(parsing: "qc_head:q"), calling: "s/Read") }
    #expect(throws: PermissionDenied.self) { try policy.check(manager, calling: "s/Unlisted") }
    try policy.check(manager, calling: "s/Read")
    try policy.check(try Principal(parsing: "operator:o"), calling: "s/Unlisted")
  }
}

extension String {
  /// Base64URL without padding → base64 with it.
  fileprivate func padded() -> String {
    let base = replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    return base + String(repeating: "=", count: (4 - base.count % 4) % 4)
  }
}
