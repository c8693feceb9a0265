import CRMDatabase
import CRMIdentity
import CRMRuntime
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// The reporting service's web face for people, on its own port (`CRM_WEB_PORT`) beside health
/// and metrics: what `buildApplication` adds to the service.
public enum WebEdge {
  public static var migrations: [Migration] { WebSchema.migrations + APISchema.migrations }

  /// The edge's background services (its HTTP server, the clients it calls quality-control
  /// through as each person); none when `CRM_WEB_PORT` is unset.
  /// `reports`: reporting's own handlers, which the dashboard and the JSON API call in process
  /// as each person.
  public static func services(_ infrastructure: ServiceInfrastructure, reports: InProcessReports) throws
    -> [any Service]
  {
    let configuration = infrastructure.configuration
    guard let settings = try WebSettings(configuration) else { return [] }
    let issuer = try configuration.serviceTokenIssuer()
    let clients = PersonClients(infrastructure, calling: .qualityControl)
    let desk = QualityControlDesk(issuer: issuer) { person in clients.client(for: person) }
    let store = WebStore(client: infrastructure.postgres, logger: infrastructure.logger)
    return [
      clients,
      try application(settings: settings, store: store, desk: desk, reports: reports, logger: infrastructure.logger),
    ]
  }

  /// The HTTP server alone (tests host it with a desk of their own).
  public static func application(
    settings: WebSettings, store: WebStore, desk: any ReviewDesk, reports: InProcessReports? = nil, logger: Logger
  ) throws -> some ApplicationProtocol {
    Application(
      router: try router(store: store, desk: desk, settings: settings, reports: reports, logger: logger),
      configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "crm-reporting-web"),
      logger: logger)
  }

  /// Without `reports`, the pages alone: the dashboard answers 403, and there is no JSON API.
  public static func router(
    store: WebStore, desk: any ReviewDesk, settings: WebSettings, reports: InProcessReports? = nil, logger: Logger
  ) throws -> Router<WebContext> {
    let router = Router(context: WebContext.self)
    WebRoutes(store: store, desk: desk, reports: reports, settings: settings, logger: logger).add(to: router)
    if let reports {
      try ReportsAPI(reports: reports, store: store, settings: settings, logger: logger).add(to: router)
    }
    return router
  }
}
