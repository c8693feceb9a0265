import CRMKafka
import CRMRPC
import CRMRuntime
import GRPCCore
import GRPCInProcessTransport
import Logging

/// One service's RPCs hosted for a bench: served in process (a client for seeding, and for
/// `--in-process` measurements) and over the Kafka transport as service `service` (the client
/// measured). `body` runs once the Kafka server holds its request partitions.
func withBenchHost<T: Sendable>(
  rpc: any RegistrableRPCService, kafka: KafkaConfiguration, service: String, fetchWaitMs: Int, logger: Logger,
  _ body: (_ local: GRPCClient<InProcessTransport.Client>, _ kafka: GRPCClient<KafkaClientTransport>) async throws -> T
) async throws -> T {
  let localTransport = InProcessTransport()
  let kafkaServer = KafkaServerTransport(
    configuration: .init(kafka: kafka, service: service, requestPartitions: 8, fetchWait: .milliseconds(fetchWaitMs)),
    logger: logger
  )
  let localServer = GRPCServer(
    transport: localTransport.server, services: [rpc], interceptors: [CallerIdentityInterceptor()])
  let kafkaGRPCServer = GRPCServer(transport: kafkaServer, services: [rpc], interceptors: [CallerIdentityInterceptor()])
  let local = GRPCClient(
    transport: localTransport.client, interceptors: [CallerIdentityClientInterceptor(caller: "bench")])
  let remote = GRPCClient(
    transport: KafkaClientTransport(
      configuration: .init(kafka: kafka, service: service, fetchWait: .milliseconds(fetchWaitMs)), logger: logger),
    interceptors: [CallerIdentityClientInterceptor(caller: "bench")]
  )
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await localServer.serve() }
    group.addTask { try await kafkaGRPCServer.serve() }
    group.addTask { try await local.runConnections() }
    group.addTask { try await remote.runConnections() }
    defer {
      local.beginGracefulShutdown()
      remote.beginGracefulShutdown()
      localServer.beginGracefulShutdown()
      kafkaGRPCServer.beginGracefulShutdown()
    }
    while !kafkaServer.isServing { try await Task.sleep(for: .milliseconds(50)) }
    return try await body(local, remote)
  }
}
