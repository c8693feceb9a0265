import ArgumentParser
import CRMContracts
import CRMIdentity
import CRMKafka
import CRMRPC
import Foundation
import GRPCCore
import Logging

/// `crm-bench latency`: one caller's Echo round trips to a running service (e.g. the system
/// `deploy/local/run` started), signed like crmctl's calls; `deploy/local/bench idle` runs it
/// right after measuring the idle system.
struct EchoLatencyBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "latency",
    abstract: "One caller's Echo latency to a running service: p50, p90, p99."
  )

  @Option(help: "The service called.") var service = "contacts"
  @Option(help: "Seconds of calls (after 1 s of warm-up).") var seconds: Double = 10
  @Option var brokers = "127.0.0.1:19092"
  @Option(help: "The token signing key (PEM); default $CRM_TOKEN_SIGNING_KEY_FILE.") var signingKey: String?
  @Option(help: "Write the figures as JSON to this file.") var json: String?

  func run() async throws {
    bootstrapBenchLogging()
    let path = signingKey ?? ProcessInfo.processInfo.environment["CRM_TOKEN_SIGNING_KEY_FILE"] ?? ""
    let issuer = try TokenIssuer(
      privateKeyFile: path,
      issuer: ProcessInfo.processInfo.environment["CRM_TOKEN_ISSUER"] ?? TokenIssuer.defaultIssuer)
    let caller = try Principal(parsing: "operator:bench")
    let kafka = KafkaConfiguration(
      bootstrapServers: brokers.split(separator: ",").map(String.init), clientID: "crm-bench-latency")
    let client = GRPCClient(
      transport: KafkaClientTransport(
        configuration: .init(kafka: kafka, service: service, caller: caller), logger: Logger(label: "bench")),
      interceptors: [
        TokenClientInterceptor(issuer: issuer, principal: caller, audience: [service])
      ])
    var samples: [Double] = []
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      defer { client.beginGracefulShutdown() }
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: client)
      let warm = ContinuousClock.now + .seconds(1)
      while ContinuousClock.now < warm { _ = try await diagnostics.echo(.with { $0.text = "warm" }) }
      let end = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
      while ContinuousClock.now < end {
        let start = ContinuousClock.now
        _ = try await diagnostics.echo(.with { $0.text = "latency" })
        let elapsed = ContinuousClock.now - start
        samples.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
      }
    }
    samples.sort()
    func percentile(_ p: Double) -> Double {
      samples.isEmpty ? .nan : samples[min(samples.count - 1, Int(p * Double(samples.count)))]
    }
    let figures: [String: Double] = [
      "calls": Double(samples.count), "p50_ms": percentile(0.5), "p90_ms": percentile(0.9), "p99_ms": percentile(0.99),
    ]
    print(
      String(
        format: "one caller → %@ Echo: %.0f calls, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms", service,
        figures["calls"]!, figures["p50_ms"]!, figures["p90_ms"]!, figures["p99_ms"]!))
    try writeFigures(figures, to: json)
  }
}
