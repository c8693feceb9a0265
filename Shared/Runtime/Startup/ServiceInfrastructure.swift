import CRMKafka
import Logging
import PostgresNIO

/// The connections every service holds: its own database and the broker.
public struct ServiceInfrastructure: Sendable {
  public let configuration: ServiceConfiguration
  public let logger: Logger
  public let postgres: PostgresClient
  public let kafkaAdmin: KafkaAdmin

  public init(_ configuration: ServiceConfiguration) throws(KafkaError) {
    self.configuration = configuration
    var logger = Logger(label: "crm.\(configuration.service.rawValue)")
    logger.logLevel = configuration.logLevel
    self.logger = logger
    postgres = PostgresClient(configuration: configuration.database, backgroundLogger: logger)
    kafkaAdmin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
  }

  /// What `/health/ready` waits for.
  public var readinessChecks: [ReadinessCheck] {
    [.postgres(postgres), .kafka(kafkaAdmin, timeout: .milliseconds(1500))]
  }
}
