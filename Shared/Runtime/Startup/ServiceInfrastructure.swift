import CRMKafka
import Logging
import PostgresNIO

/// The connections every service holds: its own database and the broker.
public struct ServiceInfrastructure: Sendable {
  public let configuration: ServiceConfiguration
  public let logger: Logger
  public let postgres: PostgresClient
  public let kafkaAdmin: KafkaAdmin

  /// `sessionSettings`: the service's PostgreSQL session parameters (`apply(sessionSettings:)`).
  public init(_ configuration: ServiceConfiguration, sessionSettings: [String: String] = [:]) throws(KafkaError) {
    self.configuration = configuration
    var logger = Logger(label: "crm.\(configuration.service.rawValue)")
    logger.logLevel = configuration.logLevel
    self.logger = logger
    var database = configuration.database
    database.apply(sessionSettings: sessionSettings)
    postgres = PostgresClient(configuration: database, backgroundLogger: logger)
    kafkaAdmin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
  }

  /// What `/health/ready` waits for.
  public var readinessChecks: [ReadinessCheck] {
    [.postgres(postgres), .kafka(kafkaAdmin, timeout: .milliseconds(1500))]
  }
}
