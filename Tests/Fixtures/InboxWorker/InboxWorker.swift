import ArgumentParser
import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// An inbox consumer in a process of its own, for the fault tests: applies Echo events (each
/// adds its `delay_ms` to a total) and prints `applied <id>` / `duplicate <id>` after each
/// database commit. With `--kill-after-applied N` it SIGKILLs itself once N events are applied —
/// after the database commit and before the offset commit.
@main
struct InboxWorker: AsyncParsableCommand {
  static let configuration = CommandConfiguration(commandName: "crm-inbox-worker")

  @Option(help: "postgres://…&search_path=<schema> of the inbox, applied and totals tables") var database: String
  @Option(help: "host:port of the broker") var brokers: String
  @Option(help: "The topic to consume.") var topic: String
  @Option(help: "The consumer's name (group crm.inbox.<name>).") var name: String
  @Option(help: "SIGKILL this process once this many events are applied.") var killAfterApplied: Int?

  func run() async throws {
    let logger = {
      var logger = Logger(label: "crm-inbox-worker")
      logger.logLevel = .warning
      return logger
    }()
    let client = PostgresClient(configuration: try DatabaseURL.parse(database), backgroundLogger: logger)
    let kafka = KafkaConfiguration(bootstrapServers: [brokers], clientID: "crm-inbox-worker")
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    let appliedSoFar = Mutex(0)
    let killAfter = killAfterApplied
    let consumer = InboxConsumer(
      name: name,
      topics: [topic],
      client: client,
      kafka: kafka,
      deadLetterProducer: producer,
      logger: logger,
      onCommitted: { outcome in
        let lines = outcome.applied.map { "applied \($0)\n" } + outcome.duplicates.map { "duplicate \($0)\n" }
        FileHandle.standardOutput.write(Data(lines.joined().utf8))
        let total = appliedSoFar.withLock { total in
          total += outcome.applied.count
          return total
        }
        if let killAfter, total >= killAfter { kill(getpid(), SIGKILL) }
      },
      handler: { event, connection in
        let amount = Int64(try Crm_Common_V1_EchoRequest(serializedBytes: event.envelope.payload).delayMs)
        _ = try await connection.query(
          "INSERT INTO applied (event_id, amount) VALUES (\(event.envelope.eventID), \(amount))",
          logger: logger
        ).collect()
        _ = try await connection.query("UPDATE totals SET total = total + \(amount)", logger: logger).collect()
      }
    )
    let group = ServiceGroup(
      configuration: .init(
        services: [.init(service: client), .init(service: producer), .init(service: consumer)],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
      )
    )
    try await group.run()
  }
}
