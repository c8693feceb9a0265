import CRMRuntime
import Hummingbird

/// Composes the reporting service: its schema, its RPCs and its one inbox of every service's
/// events. It publishes nothing, so it runs no outbox relay. The forecast reads the company's
/// clock (`ForecastSettings`: `CRM_COMPANY_TIME_ZONE`, UTC by default).
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  // The service's own settings first: a bad one stops it before anything starts.
  let forecast = try ForecastSettings(environment: configuration.environment)
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  return try ServiceApplication.build(
    infrastructure,
    migrations: ReportingComponents.migrations,
    access: ReportingComponents.access,
    rpcServices: [
      ReportingComponents.rpcService(
        client: postgres, logger: logger, pageTokens: configuration.pageTokenKey, forecast: forecast)
    ],
    subscriptions: [ReportingComponents.eventsSubscription(logger: logger)]
  )
}
