import CRMRuntime
import Hummingbird

/// Composes the reporting service: its schema, its RPCs and its one inbox of every service's
/// events, and its web edge for people (`CRM_WEB_PORT`). It publishes nothing, so it runs no
/// outbox relay. It maps QC rep codes back to managers with the review code key
/// (`RepCodeSettings`: `CRM_QC_CODE_KEY`, required); the forecast reads the company's clock
/// (`ForecastSettings`: `CRM_COMPANY_TIME_ZONE`, UTC by default).
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  // The service's own settings first: a bad one stops it before anything starts.
  let repCodes = try RepCodeSettings(environment: configuration.environment)
  let forecast = try ForecastSettings(environment: configuration.environment)
  let infrastructure = try ServiceInfrastructure(configuration, sessionSettings: ReportingComponents.sessionSettings)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  // One set of report handlers: the RPC server's, and the web API's calls in process.
  let reports = InProcessReports(
    client: postgres, logger: logger, pageTokens: configuration.pageTokenKey, codes: repCodes.codes,
    forecast: forecast)
  return try ServiceApplication.build(
    infrastructure,
    migrations: ReportingComponents.migrations + WebEdge.migrations,
    access: ReportingComponents.access,
    rpcServices: [reports.service],
    subscriptions: [ReportingComponents.eventsSubscription(logger: logger)],
    services: try WebEdge.services(infrastructure, reports: reports)
  )
}
