import CRMContracts
import CRMIdentity
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging

/// A Diagnostics service whose behaviour the request text scripts: "fail:<code>:<message>"
/// throws that status; "big:<bytes>" answers a payload of that size; `delay_ms` delays. It
/// counts executions per text.
final class ScriptedDiagnostics: Crm_Common_V1_Diagnostics.SimpleServiceProtocol {
  let replica: String
  let executions = Locked([String: Int]())

  init(replica: String) {
    self.replica = replica
  }

  func echo(request: Crm_Common_V1_EchoRequest, context: ServerContext) async throws -> Crm_Common_V1_EchoReply {
    executions.withLock { $0[request.text, default: 0] += 1 }
    if request.text.hasPrefix("fail:") {
      let parts = request.text.split(separator: ":", maxSplits: 2).map(String.init)
      let code = Status.Code(rawValue: Int(parts[1])!).flatMap(RPCError.Code.init)!
      throw RPCError(code: code, message: parts[2])
    }
    if request.delayMs > 0 { try await Task.sleep(for: .milliseconds(request.delayMs)) }
    var reply = Crm_Common_V1_EchoReply()
    reply.text = request.text
    reply.payload = request.payload
    if request.text.hasPrefix("big:") { reply.payload = Data(count: Int(request.text.dropFirst(4))!) }
    reply.servedBy = replica
    reply.caller = Principal.current?.description ?? ""
    return reply
  }

  func count(_ text: String) -> Int { executions.withLock { $0[text] ?? 0 } }
  var total: Int { executions.withLock { $0.values.reduce(0, +) } }
}

/// Servers and a client on the real local broker, under a service name of the test's own.
struct RPCHarness {
  static let logger = Logger(label: "rpc-test")
  static let kafka = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "rpc-test")

  let service = "test-\(UUID().uuidString.prefix(8).lowercased())"

  var maximumConcurrentCalls = 1024
  var idleAfter: Duration?

  func serverTransport() -> KafkaServerTransport {
    KafkaServerTransport(
      configuration: .init(
        kafka: Self.kafka, service: service, requestPartitions: 4, fetchWait: .milliseconds(2),
        maximumConcurrentCalls: maximumConcurrentCalls, callers: TestIdentity.verifier(audience: service),
        idleAfter: idleAfter, idleProbe: .milliseconds(100)),
      logger: Self.logger
    )
  }

  /// The servers' interceptors: tokens for this harness's service, every method open to all.
  var interceptors: [any ServerInterceptor] {
    RPCServerService.interceptors(
      verifier: TestIdentity.verifier(audience: service),
      policy: AccessPolicy(["crm.common.v1.Diagnostics/Echo": .init(Set(Role.allCases), "open")]))
  }

  func clientTransport(defaultTimeout: Duration = .seconds(20), caller: String = "operator:test-caller")
    -> KafkaClientTransport
  {
    KafkaClientTransport(
      configuration: .init(
        kafka: Self.kafka, service: service, caller: TestIdentity.principal(caller), defaultTimeout: defaultTimeout),
      logger: Self.logger
    )
  }

  /// Runs `body` with a connected client while one replica per element of `replicas` serves it.
  func run(
    replicas: [[any RegistrableRPCService]],
    caller: String = "operator:test-caller",
    _ body: (Crm_Common_V1_Diagnostics.Client<KafkaClientTransport>, GRPCClient<KafkaClientTransport>) async throws ->
      Void
  ) async throws {
    try await run(replicas: replicas, caller: caller) { diagnostics, client, _ in try await body(diagnostics, client) }
  }

  /// The same, also handing `body` the server transports (to watch their state).
  func run(
    replicas: [[any RegistrableRPCService]],
    caller: String = "operator:test-caller",
    _ body: (
      Crm_Common_V1_Diagnostics.Client<KafkaClientTransport>, GRPCClient<KafkaClientTransport>, [KafkaServerTransport]
    ) async throws -> Void
  ) async throws {
    let transports = replicas.map { _ in serverTransport() }
    let servers = transports.indices.map { i in
      GRPCServer(transport: transports[i], services: replicas[i], interceptors: interceptors)
    }
    let client = GRPCClient(
      transport: clientTransport(caller: caller),
      interceptors: [TestIdentity.caller(caller, audience: [service])]
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
      for server in servers { group.addTask { try await server.serve() } }
      group.addTask { try await client.runConnections() }
      var failure: (any Error)?
      do {
        try await waitUntil("every replica serves") { transports.allSatisfy(\.isServing) }
        try await body(Crm_Common_V1_Diagnostics.Client(wrapping: client), client, transports)
      } catch {
        failure = error
      }
      client.beginGracefulShutdown()
      for server in servers { server.beginGracefulShutdown() }
      try await group.waitForAll()
      if let failure { throw failure }
    }
    let admin = try KafkaAdmin(configuration: Self.kafka, logger: Self.logger)
    try await admin.deleteTopics([RPCTopics.requests(service: service), RPCTopics.deadLetters(service: service)])
  }
}

struct TimedOut: Error, CustomStringConvertible {
  var what: String
  var description: String { "timed out waiting until \(what)" }
}

func waitUntil(_ what: String, within limit: Duration = .seconds(30), _ condition: () async throws -> Bool)
  async throws
{
  let deadline = ContinuousClock.now + limit
  while try await !condition() {
    guard ContinuousClock.now < deadline else { throw TimedOut(what: what) }
    try await Task.sleep(for: .milliseconds(50))
  }
}

func echo(_ text: String, delay: Int32 = 0) -> Crm_Common_V1_EchoRequest {
  var request = Crm_Common_V1_EchoRequest()
  request.text = text
  request.delayMs = delay
  return request
}

func options(timeout: Duration) -> CallOptions {
  var options = CallOptions.defaults
  options.timeout = timeout
  return options
}
