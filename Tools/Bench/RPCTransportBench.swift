import ArgumentParser
import CRMContracts
import CRMKafka
import CRMRPC
import CRMRuntime
import Foundation
import GRPCCore
import GRPCInProcessTransport
import GRPCNIOTransportHTTP2
import Logging

/// One transport, in a process of its own (so that its memory is its own): the same
/// Diagnostics service, a latency phase and a throughput phase. Prints one JSON object.
struct RPCTransportBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rpc-transport",
    abstract: "Measure one RPC transport (run by `rpc`).",
    shouldDisplay: false
  )

  enum Transport: String, ExpressibleByArgument, CaseIterable {
    case kafka, inprocess, http2
  }

  @Option var transport: Transport
  @Option var seconds: Double = 10
  @Option var latencyCallers = 16
  @Option var throughputCallers = 256
  @Option var brokers = "127.0.0.1:19092"
  @Option(help: "Fetch wait of the Kafka consumers, in milliseconds.") var fetchWaitMs = 2
  @Option(help: "linger.ms of the Kafka producers (requests and replies).") var lingerMs = 2

  func run() async throws {
    let figures: [String: Double]
    switch transport {
    case .inprocess:
      let inProcess = InProcessTransport()
      figures = try await measure(server: inProcess.server, client: inProcess.client) { true }
    case .http2:
      let server = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext)
      figures = try await measure(
        server: server,
        clientFactory: {
          guard let port = try await server.listeningAddress.ipv4?.port else { throw CleanExit.message("no port") }
          return try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
        }
      )
    case .kafka:
      figures = try await measureKafka()
    }
    let data = try JSONSerialization.data(withJSONObject: figures, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
  }

  func measureKafka() async throws -> [String: Double] {
    bootstrapBenchLogging()
    let logger = Logger(label: "bench")
    let kafka = KafkaConfiguration(
      bootstrapServers: brokers.split(separator: ",").map(String.init),
      clientID: "bench",
      properties: ["linger.ms": "\(lingerMs)"]
    )
    let service = "bench-\(UUID().uuidString.prefix(8).lowercased())"
    let server = KafkaServerTransport(
      configuration: .init(kafka: kafka, service: service, requestPartitions: 8, fetchWait: .milliseconds(fetchWaitMs)),
      logger: logger
    )
    let client = KafkaClientTransport(
      configuration: .init(kafka: kafka, service: service, fetchWait: .milliseconds(fetchWaitMs)),
      logger: logger
    )
    // The local broker keeps every record in memory until the topic goes: delete it either way.
    let topics = [RPCTopics.requests(service: service), RPCTopics.deadLetters(service: service)]
    var figures: [String: Double]
    do {
      figures = try await measure(server: server, client: client) { server.isServing }
    } catch {
      try? await KafkaAdmin(configuration: kafka, logger: logger).deleteTopics(topics)
      throw error
    }
    try await KafkaAdmin(configuration: kafka, logger: logger).deleteTopics(topics)
    figures["fetch_wait_ms"] = Double(fetchWaitMs)
    figures["linger_ms"] = Double(lingerMs)
    return figures
  }

  func measure<Server: ServerTransport, Client: ClientTransport>(
    server: Server,
    client: Client,
    ready: @escaping @Sendable () async -> Bool
  ) async throws -> [String: Double] {
    try await measure(server: server, clientFactory: { client }, ready: ready)
  }

  func measure<Server: ServerTransport, Client: ClientTransport>(
    server: Server,
    clientFactory: () async throws -> Client,
    ready: @escaping @Sendable () async -> Bool = { true }
  ) async throws -> [String: Double] {
    let grpcServer = GRPCServer(transport: server, services: [DiagnosticsService(service: .contacts)])
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await grpcServer.serve() }
      while !(await ready()) { try await Task.sleep(for: .milliseconds(50)) }
      let grpcClient = GRPCClient(transport: try await clientFactory())
      group.addTask { try await grpcClient.runConnections() }
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: grpcClient)
      let request = Crm_Common_V1_EchoRequest.with {
        $0.text = "benchmark"
        $0.payload = Data(repeating: 7, count: 64)
      }
      let call: @Sendable () async throws -> Void = { _ = try await diagnostics.echo(request) }
      _ = await LoadGenerator.run(callers: latencyCallers, duration: .seconds(min(2, seconds)), call)  // warm-up
      let latency = await LoadGenerator.run(callers: latencyCallers, duration: .seconds(seconds), call)
      let throughput = await LoadGenerator.run(callers: throughputCallers, duration: .seconds(seconds), call)
      grpcClient.beginGracefulShutdown()
      grpcServer.beginGracefulShutdown()
      try await group.waitForAll()
      return [
        "p50_ms": latency.percentile(0.50),
        "p99_ms": latency.percentile(0.99),
        "latency_calls_per_s": latency.callsPerSecond,
        "calls_per_s": throughput.callsPerSecond,
        "throughput_p50_ms": throughput.percentile(0.50),
        "throughput_p99_ms": throughput.percentile(0.99),
        "errors": Double(latency.errors + throughput.errors),
        "rss_mb": peakResidentMegabytes(),
      ]
    }
  }
}
