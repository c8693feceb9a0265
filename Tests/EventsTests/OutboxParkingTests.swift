import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import Prometheus
import Testing

/// Events over the broker's record limit (issue 11): refused at write time, and a row the relay
/// still cannot publish is parked without stopping other aggregates.
@Suite("Outbox: oversized events and parked rows")
struct OutboxParkingTests {
  let logger = Logger(label: "outbox-parking-test")
  let kafka = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "outbox-parking-test")
  let schema =
    Outbox.migrations + [
      Migration(version: 1, name: "items", statements: ["CREATE TABLE item (id text PRIMARY KEY, name text NOT NULL)"])
    ]

  @Test func anOversizedEventIsRefusedAtWriteTimeAndNothingIsWritten() async throws {
    let big = Crm_Common_V1_EchoRequest.with { $0.text = String(repeating: "x", count: 1_200_000) }
    // Made from a payload: refused when the event is made, naming its type and size.
    #expect(throws: EventTooLarge.self) {
      try OutboxEvent(topic: "crm.test.events", aggregateID: "i1", aggregateVersion: 1, actor: "t", payload: big)
    }
    // Made by hand: refused by `Outbox.append`, inside the business transaction, which rolls back.
    let event = OutboxEvent(
      eventID: "e1", topic: "crm.test.events", key: "i1", type: "crm.test.Big",
      envelope: Array(repeating: 1, count: 1_200_000))
    try await TestSchema.with(database: "deals") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(schema, on: client, logger: logger)
        let thrown = await #expect(throws: (any Error).self) {
          try await client.withTransaction(logger: logger) { connection in
            _ = try await connection.query("INSERT INTO item VALUES ('i1', 'big')", logger: logger).collect()
            try await Outbox.append([event], on: connection, logger: logger)
          }
        }
        let error = try #require(thrown)
        let tooLarge = try #require(transactionCause(of: error) as? EventTooLarge)
        #expect(tooLarge.bytes > OutboxEvent.recordCap && tooLarge.cap == OutboxEvent.recordCap)
        #expect(try await values(client, "SELECT count(*) FROM item", as: Int.self) == [0])
        #expect(try await values(client, "SELECT count(*) FROM outbox", as: Int.self) == [0])
        // The RPC caller gets INVALID_ARGUMENT naming the event, its size and the cap.
        let status = try #require(RPCError(domain: error))
        #expect(status.code == .invalidArgument)
        #expect(status.message.contains("crm.test.Big") && status.message.contains("\(tooLarge.bytes)"))
        #expect(status.message.contains("\(OutboxEvent.recordCap)"))
      }
    }
  }

  @Test func aParkedRowWaitsWithItsAggregateWhileOthersGoOnUntilRepublished() async throws {
    let topic = "test.parking.\(UUID().uuidString.prefix(8).lowercased())"
    try await KafkaAdmin(configuration: kafka, logger: logger).createTopics([topic], partitions: 2)
    try await TestSchema.with(database: "deals") { makeClient, schemaName in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(schema, on: client, logger: logger)
        // A row over librdkafka's record limit (written before the cap, or under a higher one),
        // then a later event of its aggregate, then events of other aggregates.
        _ = try await client.query(
          """
          INSERT INTO outbox (event_id, topic, key, type, envelope)
          VALUES ('a1', \(topic), 'A', 'test', convert_to(repeat('x', 1200000), 'UTF8')),
                 ('a2', \(topic), 'A', 'test', convert_to('a2', 'UTF8'))
          """
        ).collect()
        _ = try await client.query(
          """
          INSERT INTO outbox (event_id, topic, key, type, envelope)
          SELECT 'b' || i, \(topic), 'B' || (i % 3), 'test', convert_to('b' || i, 'UTF8') FROM generate_series(1, 10) i
          """
        ).collect()
        let relay = OutboxRelay(
          client: client, kafka: kafka,
          configuration: .init(
            batchSize: 100, idleWait: .milliseconds(20), maxAttempts: 3, maximumBackoff: .seconds(1)),
          logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await relay.run() }
          try await waitUntil("the other aggregates' events are published") {
            try await values(
              client, "SELECT count(*) FROM outbox WHERE key LIKE 'B%' AND sent_at IS NULL", as: Int.self)
              == [0]
          }
          try await waitUntil("the oversized row is parked") {
            try await values(client, "SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL", as: Int.self) == [1]
          }
          // Kept with its error and attempts; its aggregate's later event waits behind it.
          let parked = try await OutboxParking.list(client, logger: logger)
          #expect(parked.map(\.eventID) == ["a1"])
          #expect(parked.first?.attempts == 3)
          #expect(parked.first?.lastError.contains("too large") == true)
          #expect(parked.first?.waiting == 1)
          #expect(
            try await values(client, "SELECT event_id FROM outbox WHERE sent_at IS NULL ORDER BY id", as: String.self)
              == ["a1", "a2"])
          // Reported: degraded but still ready, and counted.
          let gaugeRegistry = PrometheusCollectorRegistry()
          let gauge = gaugeRegistry.makeGauge(descriptor: OutboxParkedGauge.descriptor)
          func metrics() -> String { String(decoding: gaugeRegistry.emitToBuffer(), as: UTF8.self) }
          let report = await ReadinessReport.run([.outbox(client, gauge: gauge, logger: logger)], timeout: .seconds(5))
          #expect(report.isReady && report.isDegraded)
          #expect(report.results["outbox"]?.contains("1 outbox row(s) parked") == true)
          #expect(metrics().contains("crm_outbox_parked_rows 1"))

          // The operator fixes the cause (here: the payload) and republishes with the command.
          _ = try await client.query("UPDATE outbox SET envelope = convert_to('a1', 'UTF8') WHERE event_id = 'a1'")
            .collect()
          let url = LocalStack.databaseURL("deals") + "&search_path=\(schemaName)"
          #expect(await OutboxCommand.run(["list"], environment: ["CRM_DATABASE_URL": url]) == 0)
          #expect(await OutboxCommand.run(["republish", "--all"], environment: ["CRM_DATABASE_URL": url]) == 0)
          try await waitUntil("the republished row and the one behind it are published") {
            try await values(client, "SELECT count(*) FROM outbox WHERE sent_at IS NULL", as: Int.self) == [0]
          }
          #expect(try await OutboxParking.summary(client, logger: logger).parked == 0)
          _ = await ReadinessReport.run([.outbox(client, gauge: gauge, logger: logger)], timeout: .seconds(5))
          #expect(metrics().contains("crm_outbox_parked_rows 0"))

          // The operator replays what was sent in the last minute (a broker that lost it).
          let from = Date().addingTimeInterval(-60).ISO8601Format()
          #expect(await OutboxCommand.run(["replay", "--from", from], environment: ["CRM_DATABASE_URL": url]) == 0)
          try await waitUntil("the replayed rows are published again") {
            try await values(client, "SELECT count(*) FROM outbox WHERE sent_at IS NULL", as: Int.self) == [0]
          }
          group.cancelAll()
        }
        let records = try await readAll(topic, partitions: 2, count: 24)
        let ids = records.compactMap { $0.headers.string("crm-event-id") }
        let all = ["a1", "a2"] + (1...10).map { "b\($0)" }
        #expect(ids.sorted() == (all + all).sorted())  // each once, and once more by the replay
        // Aggregate A in order: a1 (republished) before a2, both after the other aggregates; replayed alike.
        let a = records.filter { $0.key == Array("A".utf8) }.compactMap { $0.headers.string("crm-event-id") }
        #expect(a == ["a1", "a2", "a1", "a2"])
      }
    }
    try await KafkaAdmin(configuration: kafka, logger: logger).deleteTopics([topic])
  }

  func waitUntil(
    _ what: String, within limit: Duration = .seconds(45), _ condition: () async throws -> Bool
  ) async throws {
    let deadline = ContinuousClock.now + limit
    while try await !condition() {
      try #require(ContinuousClock.now < deadline, "not in time: \(what)")
      try await Task.sleep(for: .milliseconds(100))
    }
  }

  func readAll(_ topic: String, partitions: Int, count: Int) async throws -> [KafkaConsumerMessage] {
    try await readAllRecords(topic, partitions: partitions, count: count, kafka: kafka, logger: logger)
  }
}
