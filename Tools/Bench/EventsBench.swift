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

/// `deploy/local/bench events`: events written through the outbox in business transactions,
/// published by the relay, applied by an inbox consumer into a table — and, in the same run,
/// PostgreSQL's raw batched insert rate. Fails unless every event was applied exactly once.
struct EventsBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "events",
    abstract: "Outbox → relay → broker → inbox, end to end, against PostgreSQL's batched insert rate."
  )

  @Option(help: "postgres://… of a database the bench may create a schema in.") var database: String
  @Option var brokers = "127.0.0.1:19092"
  @Option var events = 100_000
  @Option(help: "Concurrent writers, each committing business rows and their events together.") var writers = 4
  @Option(help: "Events per business transaction.") var eventsPerTransaction = 100
  @Option(help: "Rows per outbox relay batch (default: the relay's).") var relayBatch: Int?
  @Option(help: "Partitions of the event topic.") var partitions = 4
  @Option(help: "Write the figures as JSON to this file.") var json: String?

  func run() async throws {
    let logger = {
      var logger = Logger(label: "bench-events")
      logger.logLevel = .warning
      return logger
    }()
    let suffix = UUID().uuidString.prefix(8).lowercased()
    let topic = "bench.events.\(suffix)"
    let kafka = KafkaConfiguration(bootstrapServers: [brokers], clientID: "bench-events")
    let kafkaAdmin = try KafkaAdmin(configuration: kafka, logger: logger)
    try await kafkaAdmin.createTopics([topic], partitions: partitions)

    let figures = try await withBenchSchema(database: database, logger: logger) { client in
      try await measure(client: client, kafka: kafka, topic: topic, logger: logger)
    }
    try? await kafkaAdmin.deleteTopics([topic, "crm.dlq.bench-events-\(suffix)"])

    print(String(format: "pg batched insert:  %9.0f rows/s", figures.pgBatchedRowsPerSecond))
    print(
      String(
        format: "events end to end:  %9.0f events/s   p50 %.1f ms   p99 %.1f ms   (%d events, %.2f s)",
        figures.eventsPerSecond, figures.p50EndToEndMs, figures.p99EndToEndMs, events, figures.seconds
      )
    )
    print(String(format: "ratio events / pg batched rows: %.3f", figures.ratio))
    print("exactly once: \(figures.applied) applied, \(figures.distinct) distinct, \(figures.missing) missing")
    if let json {
      let document: [String: Any] = [
        "events_per_s": figures.eventsPerSecond,
        "pg_batched_rows_per_s": figures.pgBatchedRowsPerSecond,
        "ratio": figures.ratio,
        "p99_end_to_end_ms": figures.p99EndToEndMs,
        "p50_end_to_end_ms": figures.p50EndToEndMs,
        "events": events,
        "applied": figures.applied,
        "distinct_applied": figures.distinct,
        "missing": figures.missing,
      ]
      try writeFigures(document, to: json)
    }
    guard figures.applied == events, figures.distinct == events, figures.missing == 0 else {
      throw ValidationError(
        "not exactly once: \(figures.applied) applied, \(figures.distinct) distinct, \(figures.missing) missing"
      )
    }
  }

  struct Figures {
    var pgBatchedRowsPerSecond: Double
    var eventsPerSecond: Double
    var seconds: Double
    var p50EndToEndMs: Double
    var p99EndToEndMs: Double
    var applied: Int
    var distinct: Int
    var missing: Int
    var ratio: Double { eventsPerSecond / pgBatchedRowsPerSecond }
  }

  private func measure(client: PostgresClient, kafka: KafkaConfiguration, topic: String, logger: Logger) async throws
    -> Figures
  {
    let tables = Migration(
      version: 1,
      name: "bench",
      statements: [
        "CREATE TABLE orders (id bigint PRIMARY KEY, amount bigint NOT NULL)",
        """
        CREATE TABLE applied (
          event_id text NOT NULL, order_id bigint NOT NULL, occurred_at timestamptz NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT clock_timestamp()
        )
        """,
        "CREATE TABLE raw_rows (id bigint NOT NULL, payload bytea NOT NULL, created_at timestamptz NOT NULL)",
      ]
    )
    try await MigrationRunner.apply(Outbox.migrations + InboxConsumer.migrations + [tables], on: client, logger: logger)
    let sample = try event(orderID: 0, topic: topic)

    print("measuring PostgreSQL: \(events) rows in batches of \(eventsPerTransaction * 10) …")
    let pgRate = try await batchedInsertRate(client: client, payload: sample.envelope, logger: logger)

    print("measuring events: \(events) through outbox → relay → broker → inbox (\(writers) writers) …")
    let name = "bench-events-\(topic.split(separator: ".").last!)"
    let deadLetters = try KafkaProducer(configuration: kafka, logger: logger)
    let relay = OutboxRelay(
      client: client, kafka: kafka,
      configuration: .init(batchSize: relayBatch ?? OutboxRelay.Configuration().batchSize, idleWait: .milliseconds(5)),
      logger: logger)
    let batches = Mutex<[Int]>([])
    let consumer = InboxConsumer(
      name: name, topics: [topic], client: client, kafka: kafka, deadLetterProducer: deadLetters, logger: logger,
      onCommitted: { outcome in batches.withLock { $0.append(outcome.applied.count + outcome.duplicates.count) } },
      batchHandler: { events, connection in
        _ = try await connection.query(
          """
          INSERT INTO applied (event_id, order_id, occurred_at)
          SELECT * FROM unnest(\(events.map(\.envelope.eventID)), \(events.map(\.envelope.aggregateVersion)),
                               \(events.map(\.envelope.occurredAt.date)))
          """,
          logger: logger
        ).collect()
      }
    )
    var started = Date()
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await relay.run() }
      group.addTask { try await consumer.run() }
      // Warm-up: one event through the whole path, so the consumer has joined its group (seconds
      // on the local broker) before the clock starts, as in a running system.
      try await client.withTransaction(logger: logger) { connection in
        try await Outbox.append([try event(orderID: -1, topic: topic)], on: connection, logger: logger)
      }
      try await waitUntilApplied(1, client: client)
      started = Date()
      try await write(client: client, topic: topic, logger: logger)
      try await waitUntilApplied(events + 1, client: client)
      try await Task.sleep(for: .milliseconds(500))  // a late double application would show now
      group.cancelAll()
    }
    await deadLetters.shutdown()
    let sizes = batches.withLock { $0 }
    print("  inbox: \(sizes.count) transactions, \(sizes.reduce(0, +) / max(1, sizes.count)) events each on average")

    let stats = try await client.query(
      """
      SELECT max(applied_at),
             percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - occurred_at) * 1000),
             percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - occurred_at) * 1000),
             count(*), count(DISTINCT event_id)
      FROM applied WHERE order_id >= 0
      """,
      logger: logger
    ).decode((Date, Double, Double, Int, Int).self).first { _ in true }
    guard let (lastApplied, p50, p99, applied, distinct) = stats else { throw ValidationError("nothing applied") }
    let missing = try await count(
      client, "SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM applied a WHERE a.event_id = o.event_id)")
    // When each stage finished, to see which one limits the pipeline.
    let stages = try await client.query(
      "SELECT max(created_at), max(sent_at) FROM outbox WHERE key <> 'order--1'", logger: logger
    ).decode((Date, Date).self).first { _ in true }
    let seconds = lastApplied.timeIntervalSince(started)
    if let (written, relayed) = stages {
      print(
        String(
          format: "  stages done after: written %.2f s, relayed %.2f s, applied %.2f s",
          written.timeIntervalSince(started), relayed.timeIntervalSince(started), seconds
        )
      )
    }
    return Figures(
      pgBatchedRowsPerSecond: pgRate,
      eventsPerSecond: Double(applied) / seconds,
      seconds: seconds,
      p50EndToEndMs: p50,
      p99EndToEndMs: p99,
      applied: applied,
      distinct: distinct,
      missing: missing
    )
  }

  private func event(orderID: Int64, topic: String) throws -> OutboxEvent {
    try OutboxEvent(
      topic: topic,
      aggregateID: "order-\(orderID)",
      aggregateVersion: orderID,
      actor: "bench",
      payload: Crm_Common_V1_EchoRequest.with { $0.text = "order \(orderID) placed" }
    )
  }

  /// Business rows and their events in one transaction each, `writers` at a time.
  private func write(client: PostgresClient, topic: String, logger: Logger) async throws {
    let transactions = (events + eventsPerTransaction - 1) / eventsPerTransaction
    try await withThrowingTaskGroup(of: Void.self) { group in
      for writer in 0..<writers {
        group.addTask {
          for transaction in stride(from: writer, to: transactions, by: writers) {
            let ids = (transaction * eventsPerTransaction..<min(events, (transaction + 1) * eventsPerTransaction))
              .map { Int64($0) }
            let outgoing = try ids.map { try event(orderID: $0, topic: topic) }
            try await client.withTransaction(logger: logger) { connection in
              _ = try await connection.query(
                "INSERT INTO orders (id, amount) SELECT id, id * 100 FROM unnest(\(ids)) AS t(id)",
                logger: logger
              ).collect()
              try await Outbox.append(outgoing, on: connection, logger: logger)
            }
          }
        }
      }
      try await group.waitForAll()
    }
  }

  /// Rows/s of multi-row inserts (the same row count and payload size), one client.
  private func batchedInsertRate(client: PostgresClient, payload: [UInt8], logger: Logger) async throws -> Double {
    let batch = eventsPerTransaction * 10
    let buffer = ByteBuffer(bytes: payload)
    let clock = ContinuousClock()
    let elapsed = try await clock.measure {
      for start in stride(from: 0, to: events, by: batch) {
        let ids = (start..<min(events, start + batch)).map { Int64($0) }
        _ = try await client.query(
          """
          INSERT INTO raw_rows (id, payload, created_at)
          SELECT id, p, now() FROM unnest(\(ids), \(Array(repeating: buffer, count: ids.count))) AS t(id, p)
          """,
          logger: logger
        ).collect()
      }
    }
    return Double(events) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
  }

  private func waitUntilApplied(_ wanted: Int, client: PostgresClient) async throws {
    let deadline = ContinuousClock.now + .seconds(600)
    while try await count(client, "SELECT count(*) FROM applied") < wanted {
      guard ContinuousClock.now < deadline else { throw ValidationError("events not applied within 600 s") }
      try await Task.sleep(for: .milliseconds(20))
    }
  }

  private func count(_ client: PostgresClient, _ query: PostgresQuery) async throws -> Int {
    try await client.query(query).decode(Int.self).first { _ in true } ?? 0
  }
}
