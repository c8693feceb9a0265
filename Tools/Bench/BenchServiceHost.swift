import CRMKafka
import CRMRPC
import CRMRuntime
import GRPCCore
import GRPCInProcessTransport
import Logging

/// One service's RPCs hosted for a bench: served in process (a client for seeding, and for
/// `--in-process` measurements) and, unless `kafka` is nil, over the Kafka transport as service
/// `service` (the client measured). `body` runs once the Kafka server holds its request
/// partitions. Without Kafka nothing polls the broker, so an in-process figure is the service's own.
func withBenchHost<T: Sendable>(
  rpc: any RegistrableRPCService, kafka: KafkaConfiguration?, service: String, fetchWaitMs: Int, logger: Logger,
  _ body: (_ local: GRPCClient<InProcessTransport.Client>, _ kafka: GRPCClient<KafkaClientTransport>?) async throws -> T
) async throws -> T {
  let localTransport = InProcessTransport()
  let localServer = GRPCServer(
    transport: localTransport.server, services: [rpc], interceptors: [CallerIdentityInterceptor()])
  let local = GRPCClient(
    transport: localTransport.client, interceptors: [CallerIdentityClientInterceptor(caller: "bench")])
  let kafkaServer = kafka.map {
    KafkaServerTransport(
      configuration: .init(kafka: $0, service: service, requestPartitions: 8, fetchWait: .milliseconds(fetchWaitMs)),
      logger: logger)
  }
  let kafkaGRPCServer = kafkaServer.map {
    GRPCServer(transport: $0, services: [rpc], interceptors: [CallerIdentityInterceptor()])
  }
  let remote = kafka.map {
    GRPCClient(
      transport: KafkaClientTransport(
        configuration: .init(kafka: $0, service: service, fetchWait: .milliseconds(fetchWaitMs)), logger: logger),
      interceptors: [CallerIdentityClientInterceptor(caller: "bench")]
    )
  }
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await localServer.serve() }
    group.addTask { try await local.runConnections() }
    if let kafkaGRPCServer, let remote {
      group.addTask { try await kafkaGRPCServer.serve() }
      group.addTask { try await remote.runConnections() }
    }
    defer {
      local.beginGracefulShutdown()
      remote?.beginGracefulShutdown()
      localServer.beginGracefulShutdown()
      kafkaGRPCServer?.beginGracefulShutdown()
    }
    while let kafkaServer, !kafkaServer.isServing { try await Task.sleep(for: .milliseconds(50)) }
    return try await body(local, remote)
  }
}
