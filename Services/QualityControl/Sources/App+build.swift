import CRMRuntime
import Hummingbird

/// Composes the quality-control service: its schema, its event topic, its RPCs, and the one
/// topic it consumes (review items). Its settings (`CRM_QC_…`) are read here.
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  let settings = try QualityControlSettings(configuration.environment)
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  return try ServiceApplication.build(
    infrastructure,
    migrations: QualityControlComponents.migrations,
    publishes: [QualityControlComponents.eventTopic],
    access: QualityControlComponents.access,
    rpcServices: [QualityControlComponents.rpcService(client: postgres, logger: logger, settings: settings)],
    subscriptions: [
      QualityControlComponents.reviewItemsSubscription(client: postgres, logger: logger, settings: settings)
    ]
  )
}
