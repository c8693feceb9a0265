import ArgumentParser

/// Benchmarks that print figures and write JSON (`deploy/local/bench`).
@main
struct Bench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "crm-bench",
    abstract: "CRM benchmarks: figures on stdout, JSON to --json.",
    subcommands: [
      RPCBench.self, RPCTransportBench.self, KafkaHopBench.self, EventsBench.self, ContactsBench.self, DealsBench.self,
      ActivityBench.self, ReportingFreshnessBench.self,
      EchoLatencyBench.self,
    ]
  )
}
