import Hummingbird
import Prometheus
import ServiceLifecycle

/// Composes a service's HTTP application: health, metrics, the service's own routes, and the
/// background services (database client first, so that it stops last).
public enum ServiceApplication {
  public typealias Context = BasicRequestContext

  public static func build(
    _ infrastructure: ServiceInfrastructure,
    registry: PrometheusCollectorRegistry = Observability.registry,
    routes: (Router<Context>) -> Void = { _ in },
    services: [any Service] = []
  ) -> some ApplicationProtocol {
    let configuration = infrastructure.configuration
    let router = Router(context: Context.self)
    router.middlewares.add(MetricsMiddleware())
    HealthController(service: configuration.service, checks: infrastructure.readinessChecks).addRoutes(to: router)
    MetricsController(registry: registry).addRoutes(to: router)
    routes(router)
    return Application(
      router: router,
      configuration: .init(
        address: .hostname(configuration.httpHost, port: configuration.httpPort),
        serverName: "crm-\(configuration.service.rawValue)"
      ),
      services: [infrastructure.postgres] + services,
      logger: infrastructure.logger
    )
  }
}
