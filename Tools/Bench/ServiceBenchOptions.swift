import ArgumentParser

/// The options every service bench takes: where the service's database and the broker are, the
/// load, and where the figures go.
struct ServiceBenchOptions: ParsableArguments {
  @Option(help: "postgres://… of the service's database (the bench works in a schema of its own).")
  var database: String
  @Option var brokers = "127.0.0.1:19092"
  @Option(help: "Concurrent callers.") var callers = 64
  @Option(help: "Seconds measured (per phase).") var seconds = 10
  @Option(help: "Fetch wait of the Kafka consumers, in milliseconds.") var fetchWaitMs = 2
  @Option(help: "PostgreSQL connections of the service.") var poolSize = 16
  @Option(help: "Write the figures as JSON to this file.") var json: String?
  @Flag(help: "Measure over GRPCCore's in-process transport instead (the service's own cost, no broker).")
  var inProcess = false

  /// What the progress lines say the calls go over.
  var transportName: String { inProcess ? "in-process" : "Kafka" }
}
