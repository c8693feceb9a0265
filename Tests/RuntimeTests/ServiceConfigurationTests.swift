import CRMRuntime
import CRMTestSupport
import Logging
import Testing

@Suite("Configuration from CRM_ variables")
struct ServiceConfigurationTests {
  let valid = [
    "CRM_DATABASE_URL": "postgres://crm_deals:secret@db.internal:6432/crm_deals?sslmode=disable",
    "CRM_KAFKA_BROKERS": "kafka-1:9092, kafka-2:9092",
    "CRM_TOKEN_VERIFY_KEYS_FILE": TestIdentity.publicKeyFile,
  ]

  @Test func readsAValidEnvironmentWithDefaults() throws {
    let configuration = try ServiceConfiguration(service: .deals, environment: valid)
    #expect(configuration.httpPort == CRMService.deals.defaultHTTPPort)
    #expect(configuration.httpHost == "127.0.0.1")
    #expect(configuration.logLevel == .info)
    #expect(configuration.database.host == "db.internal")
    #expect(configuration.database.port == 6432)
    #expect(configuration.database.username == "crm_deals")
    #expect(configuration.database.password == "secret")
    #expect(configuration.database.database == "crm_deals")
    #expect(configuration.kafka.bootstrapServers == ["kafka-1:9092", "kafka-2:9092"])
  }

  @Test func readsOverrides() throws {
    var environment = valid
    environment["CRM_HTTP_PORT"] = "9000"
    environment["CRM_HTTP_HOST"] = "0.0.0.0"
    environment["CRM_LOG_LEVEL"] = "DEBUG"
    let configuration = try ServiceConfiguration(service: .reporting, environment: environment)
    #expect(configuration.httpPort == 9000)
    #expect(configuration.httpHost == "0.0.0.0")
    #expect(configuration.logLevel == .debug)
  }

  struct BadValue: Sendable, CustomTestStringConvertible {
    var variable: String
    var value: String?
    var mentions: String
    var testDescription: String { "\(variable)=\(value ?? "<unset>")" }
  }

  @Test(arguments: [
    BadValue(variable: "CRM_DATABASE_URL", value: nil, mentions: "is not set"),
    BadValue(variable: "CRM_DATABASE_URL", value: "   ", mentions: "is not set"),
    BadValue(variable: "CRM_DATABASE_URL", value: "mysql://u:p@h/db", mentions: "scheme \"mysql\""),
    BadValue(variable: "CRM_DATABASE_URL", value: "postgres://u:p@h:5432/", mentions: "no database name"),
    BadValue(variable: "CRM_DATABASE_URL", value: "postgres://h:5432/db", mentions: "no user name"),
    BadValue(variable: "CRM_DATABASE_URL", value: "postgres://u:p@h/db?sslmode=maybe", mentions: "sslmode"),
    BadValue(variable: "CRM_DATABASE_URL", value: "postgres://u:p@h/db?search_path=a;drop", mentions: "search_path"),
    BadValue(variable: "CRM_KAFKA_BROKERS", value: nil, mentions: "is not set"),
    BadValue(variable: "CRM_KAFKA_BROKERS", value: "localhost", mentions: "\"localhost\""),
    BadValue(variable: "CRM_KAFKA_BROKERS", value: "a:9092,b:0", mentions: "\"b:0\""),
    BadValue(variable: "CRM_HTTP_PORT", value: "http", mentions: "\"http\""),
    BadValue(variable: "CRM_HTTP_PORT", value: "70000", mentions: "out of range"),
    BadValue(variable: "CRM_LOG_LEVEL", value: "loud", mentions: "one of trace"),
    BadValue(variable: "CRM_PAGE_TOKEN_KEY", value: "short", mentions: "shorter than 16 bytes"),
    BadValue(variable: "CRM_TOKEN_VERIFY_KEYS_FILE", value: nil, mentions: "is not set"),
    BadValue(variable: "CRM_TOKEN_VERIFY_KEYS_FILE", value: "/nonexistent/keys.pem", mentions: "cannot be read"),
    BadValue(variable: "CRM_TOKEN_VERIFY_KEYS_FILE", value: "/etc/hostname", mentions: "no PEM public key"),
  ])
  func namesTheVariableAndTheExpectedForm(_ bad: BadValue) {
    var environment = valid
    environment[bad.variable] = bad.value
    #expect {
      _ = try ServiceConfiguration(service: .contacts, environment: environment)
    } throws: { error in
      guard let error = error as? ConfigurationError else { return false }
      return error.variable == bad.variable && error.description.contains(bad.mentions)
        && error.description.contains("expected ")
    }
  }

  /// Page tokens are sealed with a secret: a database URL without a password is none.
  @Test func aPasswordlessDatabaseNeedsAPageTokenKey() throws {
    var environment = valid
    environment["CRM_DATABASE_URL"] = "postgres://crm_deals@db.internal/crm_deals"
    #expect(throws: ConfigurationError.self) { try ServiceConfiguration(service: .deals, environment: environment) }
    environment["CRM_PAGE_TOKEN_KEY"] = "a secret of more than sixteen bytes"
    _ = try ServiceConfiguration(service: .deals, environment: environment)
  }

  /// SASL for the production broker: all four settings or none; a partial set refuses to start
  /// naming what is missing; the set becomes librdkafka's properties.
  @Test func brokerAuthenticationIsAllOrNothing() throws {
    var environment = valid
    environment["CRM_KAFKA_SASL_USERNAME"] = "deals"
    #expect {
      _ = try ServiceConfiguration(service: .deals, environment: environment)
    } throws: { error in
      (error as? ConfigurationError)?.variable == "CRM_KAFKA_SECURITY_PROTOCOL"
        && "\(error)".contains("while CRM_KAFKA_SASL_USERNAME is set")
    }
    environment["CRM_KAFKA_SECURITY_PROTOCOL"] = "SASL_SSL"
    environment["CRM_KAFKA_SASL_MECHANISMS"] = "scram-sha-512"
    environment["CRM_KAFKA_SASL_PASSWORD"] = "secret"
    environment["CRM_KAFKA_SECURITY_PROTOCOL"] = "plaintext"
    #expect {
      _ = try ServiceConfiguration(service: .deals, environment: environment)
    } throws: { error in
      (error as? ConfigurationError)?.variable == "CRM_KAFKA_SECURITY_PROTOCOL" && "\(error)".contains("sasl_ssl")
    }
    environment["CRM_KAFKA_SECURITY_PROTOCOL"] = "SASL_SSL"
    let properties = try ServiceConfiguration(service: .deals, environment: environment).kafka.properties
    #expect(properties["security.protocol"] == "sasl_ssl")
    #expect(properties["sasl.mechanisms"] == "SCRAM-SHA-512")
    #expect(properties["sasl.username"] == "deals" && properties["sasl.password"] == "secret")
    #expect(try ServiceConfiguration(service: .deals, environment: valid).kafka.properties["security.protocol"] == nil)
  }
}
