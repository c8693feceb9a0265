import CRMRPC
import GRPCCore
import Hummingbird
import Prometheus
import ServiceLifecycle

/// Composes a service's application: HTTP health and metrics, its RPC services on the Kafka
/// transport (with Diagnostics), and background services (database client first, so that it
/// stops last).
public enum ServiceApplication {
  public typealias Context = BasicRequestContext

  public static func build(
    _ infrastructure: ServiceInfrastructure,
    registry: PrometheusCollectorRegistry = Observability.registry,
    rpcServices: [any RegistrableRPCService] = [],
    routes: (Router<Context>) -> Void = { _ in },
    services: [any Service] = []
  ) -> some ApplicationProtocol {
    let configuration = infrastructure.configuration
    let transport = KafkaServerTransport(
      configuration: .init(
        kafka: configuration.kafka,
        service: configuration.service.rawValue,
        requestPartitions: configuration.rpcPartitions,
        fetchWait: configuration.rpcFetchWait
      ),
      logger: infrastructure.logger
    )
    let rpcServer = RPCServerService(
      transport: transport,
      services: [DiagnosticsService(service: configuration.service)] + rpcServices
    )

    let router = Router(context: Context.self)
    router.middlewares.add(MetricsMiddleware())
    HealthController(
      service: configuration.service,
      checks: infrastructure.readinessChecks + [.rpcServer(transport)]
    ).addRoutes(to: router)
    MetricsController(registry: registry).addRoutes(to: router)
    routes(router)
    return Application(
      router: router,
      configuration: .init(
        address: .hostname(configuration.httpHost, port: configuration.httpPort),
        serverName: "crm-\(configuration.service.rawValue)"
      ),
      services: [infrastructure.postgres] + services + [rpcServer],
      logger: infrastructure.logger
    )
  }
}
