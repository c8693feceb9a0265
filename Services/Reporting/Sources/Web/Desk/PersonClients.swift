import CRMIdentity
import CRMKafka
import CRMRPC
import CRMRuntime
import GRPCCore
import Logging
import ServiceLifecycle
import Synchronization

/// gRPC clients over Kafka, one per signed-in person who calls: a server answers a call only on
/// a reply topic of the principal its token names (`KafkaServerTransport`), so a person's calls
/// need a transport whose reply topic is his. Made on first use and kept while the service runs
/// (one per person who used the edge since the start); run among the service's background services.
public final class PersonClients: Service, Sendable {
  let configuration: ServiceConfiguration
  let target: CRMService
  let logger: Logger
  private let clients = Mutex<[Principal: GRPCClient<KafkaClientTransport>]>([:])
  private let started: AsyncStream<GRPCClient<KafkaClientTransport>>
  private let starter: AsyncStream<GRPCClient<KafkaClientTransport>>.Continuation

  public init(_ infrastructure: ServiceInfrastructure, calling target: CRMService) {
    configuration = infrastructure.configuration
    self.target = target
    var logger = infrastructure.logger
    logger[metadataKey: "calling"] = "\(target.rawValue)"
    self.logger = logger
    (started, starter) = AsyncStream.makeStream()
  }

  /// The client to call `target` through as `person`.
  public func client(for person: Principal) -> GRPCClient<KafkaClientTransport> {
    clients.withLock { clients in
      if let known = clients[person] { return known }
      let transport = KafkaClientTransport(
        configuration: .init(
          kafka: configuration.kafka, service: target.rawValue, caller: person,
          fetchWait: configuration.rpcFetchWait, defaultTimeout: .seconds(10)),
        logger: logger)
      let client = GRPCClient(transport: transport)
      clients[person] = client
      starter.yield(client)
      return client
    }
  }

  public func run() async {
    await withGracefulShutdownHandler {
      await withDiscardingTaskGroup { group in
        for await client in started {
          group.addTask { [logger] in
            do {
              try await client.runConnections()
            } catch {
              logger.warning("a person's client stopped", metadata: ["error": "\(error)"])
            }
          }
        }
      }
    } onGracefulShutdown: {
      self.starter.finish()
      for client in self.clients.withLock({ Array($0.values) }) { client.beginGracefulShutdown() }
    }
  }
}
