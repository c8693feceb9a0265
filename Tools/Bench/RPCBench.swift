import ArgumentParser
import Foundation

/// `deploy/local/bench rpc`: the Kafka transport beside GRPCCore's in-process transport and gRPC
/// over HTTP/2 on loopback, same service code, same run; each transport in its own process.
struct RPCBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rpc",
    abstract: "Compare RPC transports: latency at 16 callers, throughput at 256."
  )

  @Option(help: "Seconds per phase.") var seconds: Double = 10
  @Option var brokers = "127.0.0.1:19092"
  @Option(help: "Fetch wait of the Kafka consumers, in milliseconds.") var fetchWaitMs = 2
  @Option(help: "linger.ms of the Kafka producers (requests and replies).") var lingerMs = 2
  @Option(help: "Write the figures as JSON to this file.") var json: String?

  func run() async throws {
    var results: [String: [String: Double]] = [:]
    for transport in RPCTransportBench.Transport.allCases {
      print("measuring \(transport.rawValue): \(Int(seconds)) s at 16 callers, \(Int(seconds)) s at 256 …")
      results[transport.rawValue] = try runChild(transport)
      let figures = results[transport.rawValue]!
      print(
        String(
          format: "  %-9@ %9.0f calls/s   p50 %6.2f ms   p99 %6.2f ms   rss %5.0f MB   errors %.0f",
          transport.rawValue,
          figures["calls_per_s"] ?? .nan,
          figures["p50_ms"] ?? .nan,
          figures["p99_ms"] ?? .nan,
          figures["rss_mb"] ?? .nan,
          figures["errors"] ?? .nan
        )
      )
    }
    let ratio = (results["kafka"]?["calls_per_s"] ?? 0) / (results["http2"]?["calls_per_s"] ?? .nan)
    print(String(format: "kafka vs http2 throughput: %.2f", ratio))
    var document: [String: Any] = results
    document["kafka_vs_http2_throughput"] = ratio
    try writeFigures(document, to: json)
  }

  private func runChild(_ transport: RPCTransportBench.Transport) throws -> [String: Double] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    process.arguments = [
      "rpc-transport", "--transport", transport.rawValue, "--seconds", "\(seconds)", "--brokers", brokers,
      "--fetch-wait-ms", "\(fetchWaitMs)", "--linger-ms", "\(lingerMs)",
    ]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
      let figures = try JSONSerialization.jsonObject(with: data) as? [String: Double]
    else {
      throw ValidationError("the \(transport.rawValue) measurement failed (exit \(process.terminationStatus))")
    }
    return figures
  }
}
