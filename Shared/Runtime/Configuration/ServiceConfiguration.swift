import CRMDatabase
import CRMIdentity
import CRMKafka
import Foundation
import Logging
import PostgresNIO

/// Everything a service needs to start, read from `CRM_…` environment variables.
public struct ServiceConfiguration: Sendable {
  public var service: CRMService
  public var httpHost: String
  public var httpPort: Int
  public var logLevel: Logger.Level
  public var database: PostgresClient.Configuration
  /// The role that applies migrations (`CRM_MIGRATION_DATABASE_URL`), when the runtime role of
  /// `CRM_DATABASE_URL` may not run DDL (production: it owns nothing and is granted table
  /// access after each migration). Nil: the runtime role migrates (local development, tests).
  public var migrationDatabase: PostgresClient.Configuration?
  public var kafka: KafkaConfiguration
  /// How long the broker may hold an RPC fetch: the local broker's latency floor per hop.
  public var rpcFetchWait: Duration
  /// Partitions of the service's request topic: the most replicas that can share its load.
  public var rpcPartitions: Int
  /// Quiet when idle: the RPC server stops fetching after this long without a request and
  /// probes its partitions' end offsets every `rpcIdleProbe` instead (nil, the default: it
  /// never does). Off by default: under the whole test suite's load a call sometimes went
  /// unanswered with it on (issue 18), not yet explained.
  public var rpcIdleAfter: Duration?
  public var rpcIdleProbe: Duration
  /// How long the broker may hold an inbox's fetch of events. Events need no millisecond hops:
  /// a long wait keeps an idle consumer cheap (the local broker re-reads every partition at a
  /// few points of the wait, answering at the first that finds a record).
  public var eventFetchWait: Duration
  /// Seals the service's page tokens (`CRM_PAGE_TOKEN_KEY`; by default derived from the database
  /// URL, a secret every replica of the service already shares).
  public var pageTokenKey: PageTokenKey
  /// Verifies callers' tokens: the issuers' public keys from the PEM file
  /// `CRM_TOKEN_VERIFY_KEYS_FILE`, the issuer `CRM_TOKEN_ISSUER` (default "crm"); the audience is
  /// the service's name.
  public var tokens: TokenVerifier
  /// The private key (PEM file `CRM_SERVICE_SIGNING_KEY_FILE`) the service signs its own calls
  /// to other services with (`ServiceCaller`); read only by a service that calls others.
  public var serviceSigningKeyFile: String?
  /// The issuer named in the tokens the service signs (`CRM_TOKEN_ISSUER`).
  public var tokenIssuerName: String

  /// Reads the configuration; the error names the first variable that is missing or malformed.
  public init(service: CRMService, environment: [String: String]) throws(ConfigurationError) {
    let env = EnvironmentReader(environment)
    self.service = service
    httpHost = env.optional("CRM_HTTP_HOST") ?? "127.0.0.1"
    httpPort = try env.integer("CRM_HTTP_PORT", default: service.defaultHTTPPort, in: 1...65535)
    logLevel = try env.choice(
      "CRM_LOG_LEVEL",
      default: .info,
      from: [
        "trace": .trace, "debug": .debug, "info": .info, "notice": .notice, "warning": .warning,
        "error": .error, "critical": .critical,
      ]
    )

    let databaseURL = try env.required("CRM_DATABASE_URL", expected: DatabaseURL.expectedForm)
    do {
      database = try DatabaseURL.parse(databaseURL)
    } catch {
      throw ConfigurationError(variable: "CRM_DATABASE_URL", problem: error.reason, expected: DatabaseURL.expectedForm)
    }

    if let migrationURL = env.optional("CRM_MIGRATION_DATABASE_URL") {
      do {
        migrationDatabase = try DatabaseURL.parse(migrationURL)
      } catch {
        throw ConfigurationError(
          variable: "CRM_MIGRATION_DATABASE_URL", problem: error.reason, expected: DatabaseURL.expectedForm)
      }
      guard migrationDatabase?.database == database.database else {
        throw ConfigurationError(
          variable: "CRM_MIGRATION_DATABASE_URL", problem: "names another database than CRM_DATABASE_URL",
          expected: "the service's own database, as the migration role")
      }
    } else {
      migrationDatabase = nil
    }

    // The database URL is a secret only when it holds a password.
    guard env.optional("CRM_PAGE_TOKEN_KEY") != nil || !(database.password ?? "").isEmpty else {
      throw ConfigurationError(
        variable: "CRM_PAGE_TOKEN_KEY", problem: "is missing and CRM_DATABASE_URL has no password to derive it from",
        expected: "a secret of 16 bytes or more")
    }
    let tokenSecret = env.optional("CRM_PAGE_TOKEN_KEY") ?? databaseURL
    guard tokenSecret.utf8.count >= 16 else {
      throw ConfigurationError(
        variable: "CRM_PAGE_TOKEN_KEY", problem: "is shorter than 16 bytes", expected: "a secret of 16 bytes or more")
    }
    pageTokenKey = PageTokenKey(secret: Array(tokenSecret.utf8))

    let keysExpected = "a file of PEM P-256 public keys (the token issuers'), e.g. .state/keys/issuer.pub.pem"
    let keysFile = try env.required("CRM_TOKEN_VERIFY_KEYS_FILE", expected: keysExpected)
    guard let keysPEM = FileManager.default.contents(atPath: keysFile).map({ String(decoding: $0, as: UTF8.self) })
    else {
      throw ConfigurationError(
        variable: "CRM_TOKEN_VERIFY_KEYS_FILE", problem: "names \(keysFile), which cannot be read",
        expected: keysExpected)
    }
    tokenIssuerName = env.optional("CRM_TOKEN_ISSUER") ?? TokenIssuer.defaultIssuer
    serviceSigningKeyFile = env.optional("CRM_SERVICE_SIGNING_KEY_FILE")
    do {
      tokens = try TokenVerifier(publicKeysPEM: keysPEM, audience: service.rawValue, issuer: tokenIssuerName)
    } catch {
      throw ConfigurationError(
        variable: "CRM_TOKEN_VERIFY_KEYS_FILE", problem: "\(keysFile): \(error.reason)", expected: keysExpected)
    }

    let brokersExpected = "host:port[,host:port…], e.g. 127.0.0.1:19092"
    let brokers = try env.required("CRM_KAFKA_BROKERS", expected: brokersExpected)
      .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    for broker in brokers {
      let parts = broker.split(separator: ":", omittingEmptySubsequences: false)
      guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]), (1...65535).contains(port) else {
        throw ConfigurationError(variable: "CRM_KAFKA_BROKERS", problem: "has \"\(broker)\"", expected: brokersExpected)
      }
    }
    rpcFetchWait = .milliseconds(try env.integer("CRM_RPC_FETCH_WAIT_MS", default: 2, in: 0...1000))
    rpcPartitions = try env.integer("CRM_RPC_PARTITIONS", default: 8, in: 1...256)
    let idleAfter = try env.integer("CRM_RPC_IDLE_AFTER_MS", default: 0, in: 0...3_600_000)
    rpcIdleAfter = idleAfter == 0 ? nil : .milliseconds(idleAfter)
    rpcIdleProbe = .milliseconds(try env.integer("CRM_RPC_IDLE_PROBE_MS", default: 200, in: 10...10_000))
    eventFetchWait = .milliseconds(try env.integer("CRM_EVENT_FETCH_WAIT_MS", default: 500, in: 0...900))
    kafka = KafkaConfiguration(
      bootstrapServers: brokers,
      clientID: env.optional("CRM_INSTANCE_ID") ?? "crm-\(service.rawValue)"
    )
    kafka.properties.merge(try Self.kafkaSecurity(env)) { $1 }
    // librdkafka's own debug contexts (e.g. "cgrp,fetch"), logged at debug level.
    if let contexts = env.optional("CRM_KAFKA_DEBUG") { kafka.properties["debug"] = contexts }
  }

  static let signingKeyExpected = "a PEM P-256 private key whose public half the other services verify"

  /// The issuer of the service's own calls to others; the error names the variable.
  public func serviceTokenIssuer() throws(ConfigurationError) -> TokenIssuer {
    guard let file = serviceSigningKeyFile else {
      throw ConfigurationError(
        variable: "CRM_SERVICE_SIGNING_KEY_FILE", problem: "is not set, and \(service.rawValue) calls other services",
        expected: Self.signingKeyExpected)
    }
    do {
      return try TokenIssuer(privateKeyFile: file, issuer: tokenIssuerName)
    } catch {
      throw ConfigurationError(
        variable: "CRM_SERVICE_SIGNING_KEY_FILE", problem: error.reason, expected: Self.signingKeyExpected)
    }
  }

  /// The broker's authentication (production: SASL, each service its own principal whose ACLs
  /// allow only its topics): all four `CRM_KAFKA_…` variables or none (the local broker).
  static func kafkaSecurity(_ env: EnvironmentReader) throws(ConfigurationError) -> [String: String] {
    let settings: [(variable: String, property: String)] = [
      ("CRM_KAFKA_SECURITY_PROTOCOL", "security.protocol"), ("CRM_KAFKA_SASL_MECHANISMS", "sasl.mechanisms"),
      ("CRM_KAFKA_SASL_USERNAME", "sasl.username"), ("CRM_KAFKA_SASL_PASSWORD", "sasl.password"),
    ]
    let given = settings.compactMap { setting in env.optional(setting.variable).map { (setting, $0) } }
    guard !given.isEmpty else { return [:] }
    guard given.count == settings.count else {
      let missing = settings.map(\.variable).filter { name in !given.contains { $0.0.variable == name } }
      throw ConfigurationError(
        variable: missing[0], problem: "is missing while \(given.map(\.0.variable).joined(separator: ", ")) is set",
        expected: "all of \(settings.map(\.variable).joined(separator: ", ")) or none")
    }
    let protocols = ["sasl_plaintext", "sasl_ssl"]
    let chosen = given.first { $0.0.variable == "CRM_KAFKA_SECURITY_PROTOCOL" }!.1.lowercased()
    guard protocols.contains(chosen) else {
      throw ConfigurationError(
        variable: "CRM_KAFKA_SECURITY_PROTOCOL", problem: "is \"\(chosen)\"",
        expected: "one of \(protocols.joined(separator: ", "))")
    }
    let mechanisms = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]
    let mechanism = given.first { $0.0.variable == "CRM_KAFKA_SASL_MECHANISMS" }!.1.uppercased()
    guard mechanisms.contains(mechanism) else {
      throw ConfigurationError(
        variable: "CRM_KAFKA_SASL_MECHANISMS", problem: "is \"\(mechanism)\"",
        expected: "one of \(mechanisms.joined(separator: ", "))")
    }
    var properties = Dictionary(uniqueKeysWithValues: given.map { ($0.0.property, $0.1) })
    properties["security.protocol"] = chosen
    properties["sasl.mechanisms"] = mechanism
    return properties
  }
}
