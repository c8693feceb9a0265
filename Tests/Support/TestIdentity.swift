import CRMIdentity
import CRMKafka
import CRMRPC
import CRMRuntime
import Foundation
import GRPCCore
import Logging

/// Tokens for tests: one issuer key per test process (its public half in a file services are
/// started with, `CRM_TOKEN_VERIFY_KEYS_FILE`), and clients that call as a given principal.
public enum TestIdentity {
  /// Every service's name: test tokens are good for all of them.
  public static let audience = CRMService.allCases.map(\.rawValue)

  static let privateKeyPEM = TokenIssuer.generatedKey()
  public static let issuer: TokenIssuer = try! TokenIssuer(privateKeyPEM: privateKeyPEM)

  /// The issuer's private key as a file, for crmctl (`CRM_TOKEN_SIGNING_KEY_FILE`).
  public static let privateKeyFile = written(privateKeyPEM, as: "crm-test-issuer-\(getpid()).pem", mode: 0o600)

  /// What crmctl needs to sign tokens the test's services accept.
  public static var crmctlEnvironment: [String: String] { ["CRM_TOKEN_SIGNING_KEY_FILE": privateKeyFile] }

  /// The issuer's public key as a file (written once per process).
  public static let publicKeyFile = written(issuer.publicKeyPEM, as: "crm-test-issuer-\(getpid()).pub.pem", mode: 0o644)

  /// `text` in the temporary folder as `name`; its path. A test process without it cannot run.
  static func written(_ text: String, as name: String, mode: Int) -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(name).path
    let created = FileManager.default.createFile(
      atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: mode])
    precondition(created, "cannot write \(path)")
    return path
  }

  /// What a service process needs to verify test tokens, and to sign its calls to other services.
  public static var environment: [String: String] {
    ["CRM_TOKEN_VERIFY_KEYS_FILE": publicKeyFile, "CRM_SERVICE_SIGNING_KEY_FILE": privateKeyFile]
  }

  /// The key of review codes (DESIGN §6) in tests: given to the services that make or map codes.
  public static let reviewCodeKey = "crm-test-review-code-key-of-32-bytes-or-more"

  /// `CRM_QC_CODE_KEY` for activity and reporting; nothing for any other service (never
  /// quality-control).
  public static func reviewCodeEnvironment(_ service: String) -> [String: String] {
    ["activity", "reporting"].contains(service) ? ["CRM_QC_CODE_KEY": reviewCodeKey] : [:]
  }

  /// The verifier a service named `service` uses in process.
  public static func verifier(for service: CRMService) -> TokenVerifier { verifier(audience: service.rawValue) }

  /// The verifier of a test's own service name.
  public static func verifier(audience: String) -> TokenVerifier {
    try! TokenVerifier(publicKeysPEM: issuer.publicKeyPEM, audience: audience)
  }

  /// `role:subject`, e.g. "manager:m-9".
  public static func principal(_ text: String) -> Principal {
    do { return try Principal(parsing: text) } catch { fatalError("test principal \(text): \(error)") }
  }

  /// A client interceptor calling as `principal` ("role:subject").
  public static func caller(_ principal: String, audience: [String] = Self.audience) -> TokenClientInterceptor {
    TokenClientInterceptor(issuer: issuer, principal: Self.principal(principal), audience: audience)
  }

  /// A client over Kafka calling `service` as `principal` ("role:subject"): its token, and a
  /// reply topic of that principal's.
  public static func kafkaClient(
    _ kafka: KafkaConfiguration, service: String, as principal: String, logger: Logger,
    defaultTimeout: Duration = .seconds(30)
  ) -> GRPCClient<KafkaClientTransport> {
    GRPCClient(
      transport: KafkaClientTransport(
        configuration: .init(
          kafka: kafka, service: service, caller: Self.principal(principal), defaultTimeout: defaultTimeout),
        logger: logger),
      interceptors: [caller(principal)])
  }
}
