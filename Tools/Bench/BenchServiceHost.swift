import CRMIdentity
import CRMKafka
import CRMRPC
import CRMRuntime
import GRPCCore
import GRPCInProcessTransport
import Logging

/// The bench calls as an operator with a token of a key of its own, verified by the servers as
/// in production (the verifier caches a verified token, as it does for a real caller's calls).
enum BenchIdentity {
  static let audience = "bench"
  static let issuer = try! TokenIssuer(privateKeyPEM: TokenIssuer.generatedKey())
  static let principal = try! Principal(parsing: "operator:bench")
  static var interceptors: [any ServerInterceptor] {
    RPCServerService.interceptors(
      verifier: try! TokenVerifier(publicKeysPEM: issuer.publicKeyPEM, audience: audience), policy: AccessPolicy())
  }
  static var caller: TokenClientInterceptor {
    TokenClientInterceptor(issuer: issuer, principal: principal, audience: [audience])
  }
}

/// One service's RPCs served in process: a client for seeding, and for `--in-process`
/// measurements. Nothing polls the broker then, so an in-process figure is the service's own.
func withBenchHost<T: Sendable>(
  rpc: any RegistrableRPCService,
  _ body: (_ local: GRPCClient<InProcessTransport.Client>) async throws -> T
) async throws -> T {
  let transport = InProcessTransport()
  let server = GRPCServer(transport: transport.server, services: [rpc], interceptors: BenchIdentity.interceptors)
  let client = GRPCClient(transport: transport.client, interceptors: [BenchIdentity.caller])
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await server.serve() }
    group.addTask { try await client.runConnections() }
    defer {
      client.beginGracefulShutdown()
      server.beginGracefulShutdown()
    }
    return try await body(client)
  }
}

/// The same RPCs over the Kafka transport for one measured phase, as service `service-phase`:
/// topics of the phase's own, deleted afterwards. The local broker keeps every record in memory
/// and its fetches slow down as they pile up (DESIGN §9; its CPU went 54% → 75% → 96% over three
/// phases on shared topics), which would charge each phase for the ones before it. `body` runs
/// once the server holds its request partitions.
/// `server` and `caller`: the interceptors of each side (the bench's operator by default).
func withKafkaPhase<T: Sendable>(
  _ phase: String, rpc: any RegistrableRPCService, kafka: KafkaConfiguration, service: String, fetchWaitMs: Int,
  logger: Logger, server serverInterceptors: [any ServerInterceptor] = BenchIdentity.interceptors,
  caller: [any ClientInterceptor] = [BenchIdentity.caller],
  _ body: (_ remote: GRPCClient<KafkaClientTransport>) async throws -> T
) async throws -> T {
  let service = "\(service)-\(phase)"
  let transport = KafkaServerTransport(
    configuration: .init(kafka: kafka, service: service, requestPartitions: 8, fetchWait: .milliseconds(fetchWaitMs)),
    logger: logger)
  let server = GRPCServer(transport: transport, services: [rpc], interceptors: serverInterceptors)
  let client = GRPCClient(
    transport: KafkaClientTransport(
      configuration: .init(
        kafka: kafka, service: service, caller: BenchIdentity.principal, fetchWait: .milliseconds(fetchWaitMs)),
      logger: logger),
    interceptors: caller
  )
  let result = try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await server.serve() }
    group.addTask { try await client.runConnections() }
    defer {
      client.beginGracefulShutdown()
      server.beginGracefulShutdown()
    }
    while !transport.isServing { try await Task.sleep(for: .milliseconds(50)) }
    return try await body(client)
  }
  try? await KafkaAdmin(configuration: kafka, logger: logger).deleteTopics([
    RPCTopics.requests(service: service), RPCTopics.deadLetters(service: service),
  ])
  return result
}
