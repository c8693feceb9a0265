import CRMTestSupport
import Foundation
import Testing
import Yams

/// No Docker engine runs here, so the compose file's structure is checked with a YAML parser.
@Suite("docker-compose.yml and Dockerfile")
struct ContainerDefinitionTests {
  static let crmServices = ["contacts", "deals", "activity", "quality-control", "reporting"]

  func compose() throws -> [String: Any] {
    let text = try String(
      contentsOf: LocalStack.repositoryRoot.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
    return try #require(try Yams.load(yaml: text) as? [String: Any])
  }

  func service(_ name: String) throws -> [String: Any] {
    let services = try #require(try compose()["services"] as? [String: Any])
    return try #require(services[name] as? [String: Any], "no service \(name)")
  }

  func healthcheckCommand(_ service: [String: Any]) throws -> String {
    let healthcheck = try #require(service["healthcheck"] as? [String: Any])
    let test = try #require(healthcheck["test"] as? [Any])
    return test.map { "\($0)" }.joined(separator: " ")
  }

  @Test func kafkaRunsInKRaftModeFromTheOfficialImage() throws {
    let kafka = try service("kafka")
    #expect((kafka["image"] as? String)?.hasPrefix("apache/kafka:") == true)
    let environment = try #require(kafka["environment"] as? [String: Any])
    #expect(environment["KAFKA_PROCESS_ROLES"] as? String == "broker,controller")
    #expect(environment["KAFKA_CONTROLLER_QUORUM_VOTERS"] != nil)
    #expect((environment["KAFKA_ADVERTISED_LISTENERS"] as? String)?.contains("kafka:9092") == true)
    #expect(try healthcheckCommand(kafka).contains("9094"))
  }

  /// Issue 13: clients authenticate (SASL/SCRAM), the authorizer denies what no ACL allows,
  /// topics are never created by a stray write, and the ACLs are applied beside the broker.
  @Test func kafkaAuthenticatesAndAuthorizesEveryClient() throws {
    let kafka = try service("kafka")
    let environment = try #require(kafka["environment"] as? [String: Any])
    #expect((environment["KAFKA_LISTENERS"] as? String)?.contains("SASL_PLAINTEXT://:9092") == true)
    #expect((environment["KAFKA_LISTENERS"] as? String)?.contains("SETUP://127.0.0.1:9094") == true)
    #expect(environment["KAFKA_SASL_ENABLED_MECHANISMS"] as? String == "SCRAM-SHA-512")
    #expect((environment["KAFKA_AUTHORIZER_CLASS_NAME"] as? String)?.hasSuffix("StandardAuthorizer") == true)
    #expect(environment["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] as? String == "false")
    #expect(environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] as? String == "false")
    let volumes = try #require(kafka["volumes"] as? [String])
    #expect(volumes.contains("./deploy/kafka/acls.yaml:/etc/crm/acls.yaml:ro"))
    #expect(volumes.contains("./deploy/kafka/apply-acls:/etc/crm/apply-acls:ro"))
    #expect((kafka["command"] as? [String])?.last?.contains("/etc/crm/apply-acls") == true)
  }

  /// No password in the production file works without a .env: every one is `${VAR:?…}`.
  @Test func productionPasswordsHaveNoDefaults() throws {
    let text = try String(
      contentsOf: LocalStack.repositoryRoot.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
    let defaults = text.split(separator: "\n").filter { $0.contains("PASSWORD") && $0.contains(":-") }
    #expect(defaults.isEmpty, "\(defaults)")
  }

  @Test func postgresProvisionsPerServiceDatabasesFromDeployPostgres() throws {
    let postgres = try service("postgres")
    #expect((postgres["image"] as? String)?.hasPrefix("postgres:15") == true)
    let volumes = try #require(postgres["volumes"] as? [String])
    let mount = try #require(volumes.first { $0.contains("/docker-entrypoint-initdb.d/") })
    let source = String(mount.split(separator: ":")[0])
    #expect(source.hasPrefix("./deploy/postgres/"))
    let script = LocalStack.repositoryRoot.appendingPathComponent(String(source.dropFirst(2)))
    #expect(FileManager.default.isExecutableFile(atPath: script.path), "\(script.path) missing or not executable")
    #expect(try healthcheckCommand(postgres).contains("pg_isready"))
  }

  @Test(arguments: crmServices)
  func serviceIsBuiltConfiguredAndHealthChecked(_ name: String) throws {
    let service = try service(name)
    let build = try #require(service["build"] as? [String: Any])
    #expect(build["dockerfile"] as? String == "deploy/docker/Dockerfile")
    #expect((build["args"] as? [String: Any])?["SERVICE"] as? String == name)

    let environment = try #require(service["environment"] as? [String: Any])
    let database = "crm_" + name.replacingOccurrences(of: "-", with: "_")
    let url = try #require(environment["CRM_DATABASE_URL"] as? String)
    #expect(url.hasPrefix("postgres://\(database)_app:"), "\(name) must run as its own runtime role")
    #expect(url.contains("@postgres:5432/\(database)"), "\(name) must use its own database")
    let migrations = try #require(environment["CRM_MIGRATION_DATABASE_URL"] as? String)
    #expect(migrations.hasPrefix("postgres://\(database):"), "\(name) must migrate as its owner role")
    #expect(migrations.contains("@postgres:5432/\(database)"))
    #expect(environment["CRM_KAFKA_BROKERS"] as? String == "kafka:9092")
    let port = try #require(environment["CRM_HTTP_PORT"] as? String)
    #expect(try healthcheckCommand(service).contains(":\(port)/health/ready"))

    // Its own broker principal (SASL/SCRAM), its password and the token keys from .env only.
    #expect(environment["CRM_KAFKA_SECURITY_PROTOCOL"] as? String == "sasl_plaintext")
    #expect(environment["CRM_KAFKA_SASL_USERNAME"] as? String == name)
    #expect((environment["CRM_KAFKA_SASL_PASSWORD"] as? String)?.contains(":?") == true, "no default password")
    #expect(url.contains(":?"), "no default database password")
    #expect(environment["CRM_TOKEN_VERIFY_KEYS_FILE"] as? String == "/run/secrets/token-verify-keys")
    // Every other secret file it reads is one of its own secrets (its signing key for calls to
    // other services, activity's webhook secret), and it has no secret it does not read.
    let read = Set(
      environment.values.compactMap { value -> String? in
        guard let path = value as? String, path.hasPrefix("/run/secrets/") else { return nil }
        return String(path.dropFirst("/run/secrets/".count))
      })
    #expect(Set(service["secrets"] as? [String] ?? []) == read)
    #expect(read.subtracting(["token-verify-keys"]).allSatisfy { $0.hasPrefix("\(name)-") })

    // The review code key (DESIGN §6): activity's, from .env with no default; never
    // quality-control's (reporting's when it maps codes back).
    let codeKey = environment["CRM_QC_CODE_KEY"] as? String
    if name == "activity" {
      #expect(codeKey?.contains(":?") == true, "activity's code key has no default")
    } else if name != "reporting" {
      #expect(codeKey == nil, "\(name) must not hold the review code key")
    }

    let dependsOn = try #require(service["depends_on"] as? [String: Any])
    for dependency in ["postgres", "kafka"] {
      #expect((dependsOn[dependency] as? [String: Any])?["condition"] as? String == "service_healthy")
    }
  }

  /// Issue 17: people reach reporting's web edge in production too — on a port of its own,
  /// published; cookies Secure unless the operator says otherwise; and it signs its calls as the
  /// person with reporting's own key.
  @Test func reportingServesTheWebEdgeOnAPublishedPortOfItsOwn() throws {
    let reporting = try service("reporting")
    let environment = try #require(reporting["environment"] as? [String: Any])
    let web = try #require(environment["CRM_WEB_PORT"] as? String)
    #expect(web != environment["CRM_HTTP_PORT"] as? String)
    #expect(environment["CRM_WEB_HOST"] as? String == "0.0.0.0")
    let ports = try #require(reporting["ports"] as? [String])
    #expect(ports.contains { $0.hasSuffix(":\(web)") }, "\(ports)")
    #expect((environment["CRM_WEB_SECURE_COOKIES"] as? String)?.hasSuffix(":-true}") == true)
    #expect(environment["CRM_SERVICE_SIGNING_KEY_FILE"] as? String == "/run/secrets/reporting-signing-key")
  }

  @Test func dockerfileBuildsWithSwiftAndRunsOnASlimImage() throws {
    let text = try String(
      contentsOf: LocalStack.repositoryRoot.appendingPathComponent("deploy/docker/Dockerfile"),
      encoding: .utf8
    )
    let stages = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
    #expect(stages.count == 2)
    #expect(stages.first?.contains(" AS build") == true)
    #expect(text.contains("ARG SWIFT_IMAGE=swift:"))
    #expect(stages.last?.contains("-slim") == true)
    #expect(text.contains("librdkafka.so.1"))
    #expect(text.contains("ca-certificates"))
    // Without the zone database only UTC is a time zone (the slim image has none).
    #expect(text.contains("tzdata"))
    #expect(text.contains("HEALTHCHECK"))
  }
}
