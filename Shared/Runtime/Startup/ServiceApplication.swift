import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMKafka
import CRMRPC
import GRPCCore
import Hummingbird
import Prometheus
import ServiceLifecycle

/// Composes a service's application: HTTP health and metrics, its database schema (its own
/// migrations plus the outbox and inbox tables), its outbox relay, its inbox consumers, its RPC
/// services on the Kafka transport (with Diagnostics) behind token verification and the
/// service's `access` policy, and background services. Everything that
/// needs the schema starts after the migrations; the database client starts first and stops last.
public enum ServiceApplication {
  public typealias Context = BasicRequestContext

  /// The kit's tables in every service's database: outbox, inbox, replies of create-like requests.
  public static var kitMigrations: [Migration] {
    Outbox.migrations + InboxConsumer.migrations + RequestReplies.migrations
  }

  public static func build(
    _ infrastructure: ServiceInfrastructure,
    registry: PrometheusCollectorRegistry = Observability.registry,
    migrations: [Migration] = [],
    publishes eventTopics: [String] = [],
    access: AccessPolicy = AccessPolicy(),
    rpcServices: [any RegistrableRPCService] = [],
    subscriptions: [InboxSubscription] = [],
    routes: (Router<Context>) -> Void = { _ in },
    services: [any Service] = []
  ) throws -> some ApplicationProtocol {
    let configuration = infrastructure.configuration
    let logger = infrastructure.logger
    let gate = SchemaGate()
    let migrator = SchemaMigrationService(
      client: infrastructure.postgres,
      migrations: kitMigrations + migrations,
      gate: gate,
      logger: logger,
      migrator: configuration.migrationDatabase.map { ($0, configuration.database.username) }
    )
    let relay = OutboxRelay(
      client: infrastructure.postgres,
      kafka: configuration.kafka,
      configuration: .init(idleWait: .milliseconds(50), topics: eventTopics),
      logger: logger
    )
    // A service that publishes nothing runs no relay (it would only poll an empty table), and
    // has no outbox to report on.
    let parkedRows = registry.makeGauge(descriptor: OutboxParkedGauge.descriptor)
    var eventServices: [any Service] =
      eventTopics.isEmpty
      ? [] : [relay, OutboxParkedGauge(client: infrastructure.postgres, gauge: parkedRows, logger: logger)]
    let outboxChecks: [ReadinessCheck] =
      eventTopics.isEmpty ? [] : [.outbox(infrastructure.postgres, gauge: parkedRows, logger: logger)]
    if !subscriptions.isEmpty {
      let deadLetters = try KafkaProducer(configuration: configuration.kafka, logger: logger)
      eventServices.append(deadLetters)
      for subscription in subscriptions {
        eventServices.append(
          InboxConsumer(
            name: subscription.name,
            topics: subscription.topics,
            client: infrastructure.postgres,
            kafka: configuration.kafka,
            deadLetterProducer: deadLetters,
            fetchWait: configuration.eventFetchWait,
            logger: logger,
            batchHandler: subscription.batchHandler
          )
        )
      }
    }
    let transport = KafkaServerTransport(
      configuration: .init(
        kafka: configuration.kafka,
        service: configuration.service.rawValue,
        requestPartitions: configuration.rpcPartitions,
        fetchWait: configuration.rpcFetchWait,
        callers: configuration.tokens,
        idleAfter: configuration.rpcIdleAfter,
        idleProbe: configuration.rpcIdleProbe
      ),
      logger: infrastructure.logger
    )
    let rpcServer = RPCServerService(
      transport: transport,
      services: [DiagnosticsService(service: configuration.service)] + rpcServices,
      verifier: configuration.tokens,
      policy: AccessPolicy.diagnostics.merging(access)
    )

    let router = Router(context: Context.self)
    router.middlewares.add(MetricsMiddleware())
    HealthController(
      service: configuration.service,
      checks: infrastructure.readinessChecks + [.schema(gate), .rpcServer(transport)] + outboxChecks
    ).addRoutes(to: router)
    MetricsController(registry: registry).addRoutes(to: router)
    routes(router)
    return Application(
      router: router,
      configuration: .init(
        address: .hostname(configuration.httpHost, port: configuration.httpPort),
        serverName: "crm-\(configuration.service.rawValue)"
      ),
      services: [infrastructure.postgres, migrator]
        + (eventServices + services + [
          RequestRepliesPruning(client: infrastructure.postgres, logger: logger), rpcServer,
        ])
        .map { AfterSchema(gate: gate, service: $0) },
      logger: logger
    )
  }
}
