import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// The transactional outbox and its relay against the real PostgreSQL and broker.
@Suite("Outbox and relay")
struct OutboxRelayTests {
  let logger = Logger(label: "outbox-test")
  let kafka = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "outbox-test")
  let schema =
    Outbox.migrations + [
      Migration(version: 1, name: "items", statements: ["CREATE TABLE item (id text PRIMARY KEY, name text NOT NULL)"])
    ]

  func freshTopic(partitions: Int) async throws -> String {
    let topic = "test.outbox.\(UUID().uuidString.prefix(8).lowercased())"
    try await KafkaAdmin(configuration: kafka, logger: logger).createTopics([topic], partitions: partitions)
    return topic
  }

  /// Everything on `topic` (all partitions, from the start) until `count` arrived or 30 s passed.
  func readAll(_ topic: String, partitions: Int, count: Int) async throws -> [KafkaConsumerMessage] {
    try await readAllRecords(topic, partitions: partitions, count: count, kafka: kafka, logger: logger)
  }

  @Test func rolledBackBusinessWritePublishesNothing() async throws {
    let topic = try await freshTopic(partitions: 1)
    try await TestSchema.with(database: "deals") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(schema, on: client, logger: logger)
        let payload = Crm_Common_V1_EchoRequest.with { $0.text = "rolled back" }
        let doomed = try OutboxEvent(
          topic: topic, aggregateID: "i1", aggregateVersion: 1, actor: "test", payload: payload)
        struct Abort: Error {}
        await #expect {
          try await client.withTransaction(logger: logger) { connection in
            _ = try await connection.query("INSERT INTO item VALUES ('i1', 'doomed')", logger: logger).collect()
            try await Outbox.append([doomed], on: connection, logger: logger)
            throw Abort()
          }
        } throws: { error in
          (error as? PostgresTransactionError)?.closureError is Abort
        }
        let kept = try OutboxEvent(
          topic: topic,
          aggregateID: "i2",
          aggregateVersion: 1,
          actor: "test",
          payload: Crm_Common_V1_EchoRequest.with { $0.text = "committed" }
        )
        try await client.withTransaction(logger: logger) { connection in
          _ = try await connection.query("INSERT INTO item VALUES ('i2', 'kept')", logger: logger).collect()
          try await Outbox.append([kept], on: connection, logger: logger)
        }
        let relay = OutboxRelay(client: client, kafka: kafka, logger: logger)
        #expect(try await relay.publishBatch() == 1)
        #expect(try await relay.publishBatch() == 0)

        let records = try await readAll(topic, partitions: 1, count: 1)
        #expect(records.map { $0.headers.string("crm-event-id") } == [kept.eventID])
        let envelope = try Crm_Events_V1_EventEnvelope(serializedBytes: try #require(records.first).value)
        #expect(envelope.type == "crm.common.v1.EchoRequest")
        #expect(try Crm_Common_V1_EchoRequest(serializedBytes: envelope.payload).text == "committed")
        #expect(try await values(client, "SELECT id FROM item", as: String.self) == ["i2"])
      }
    }
    try await KafkaAdmin(configuration: kafka, logger: logger).deleteTopics([topic])
  }

  @Test func twoRelaysPublishEachRowOnceInPerKeyOrder() async throws {
    let topic = try await freshTopic(partitions: 4)
    let rows = 10_000
    let keys = 50
    try await TestSchema.with(database: "deals") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(schema, on: client, logger: logger)
        _ = try await client.query(
          """
          INSERT INTO outbox (event_id, topic, key, type, envelope)
          SELECT 'e' || i, \(topic), 'k' || (i % \(keys)), 'test', convert_to(i::text, 'UTF8')
          FROM generate_series(1, \(rows)) AS i
          """
        ).collect()
        let relays = (0..<2).map { _ in
          OutboxRelay(client: client, kafka: kafka, configuration: .init(batchSize: 300), logger: logger)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
          for relay in relays { group.addTask { try await relay.run() } }
          let deadline = ContinuousClock.now + .seconds(120)
          while try await values(client, "SELECT count(*) FROM outbox WHERE sent_at IS NULL", as: Int.self) != [0] {
            try #require(ContinuousClock.now < deadline, "the relays did not drain the outbox in time")
            try await Task.sleep(for: .milliseconds(100))
          }
          group.cancelAll()
        }

        let records = try await readAll(topic, partitions: 4, count: rows)
        let ids = records.compactMap { $0.headers.string("crm-event-id") }
        #expect(records.count == rows, "published \(records.count) records for \(rows) rows")
        #expect(Set(ids).count == rows, "\(ids.count - Set(ids).count) duplicates")
        // Per key: the sequence numbers arrive increasing (one key lives on one partition).
        var lastByKey: [String: Int] = [:]
        var outOfOrder = 0
        for record in records {
          let key = String(decoding: record.key ?? [], as: UTF8.self)
          let sequence = Int(String(decoding: record.value, as: UTF8.self)) ?? -1
          if let last = lastByKey[key], last > sequence { outOfOrder += 1 }
          lastByKey[key] = sequence
        }
        #expect(outOfOrder == 0)
        #expect(lastByKey.count == keys)
      }
    }
    try await KafkaAdmin(configuration: kafka, logger: logger).deleteTopics([topic])
  }
}

@Suite("Outbox while the broker is away")
struct OutboxBrokerOutageTests {
  let logger = Logger(label: "outbox-outage-test")

  @Test func outboxBacksUpWhileTheBrokerIsAwayThenDrainsWithNothingLost() async throws {
    let broker = try await PrivateBroker()
    var kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "outage-test")
    kafka.properties["message.timeout.ms"] = "3000"  // a batch fails fast while the broker is away
    let topic = "test.outage.\(UUID().uuidString.prefix(8).lowercased())"
    try await KafkaAdmin(configuration: kafka, logger: logger).createTopics([topic], partitions: 2)
    let written = Locked(0)
    let pendingDuringOutage = Locked(0)
    let writtenDuringOutage = Locked(0)
    try await TestSchema.with(database: "deals") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(Outbox.migrations, on: client, logger: logger)
        let relay = OutboxRelay(client: client, kafka: kafka, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await relay.run() }
          // Business writes go on the whole time, one event every 10 ms, until told to stop.
          let stop = Locked(false)
          let writer = Task {
            var i = 0
            while !stop.withLock({ $0 }) {
              let event = OutboxEvent(
                eventID: "w\(i)",
                topic: topic,
                key: "k\(i % 5)",
                type: "test",
                envelope: Array("\(i)".utf8)
              )
              try await client.withTransaction(logger: logger) { connection in
                try await Outbox.append([event], on: connection, logger: logger)
              }
              i += 1
              written.withLock { $0 = i }
              try await Task.sleep(for: .milliseconds(10))
            }
          }
          try await Task.sleep(for: .seconds(2))
          broker.pause()
          let writtenAtPause = written.withLock { $0 }
          // The broker stays away for 10 s (several failed batches: their timeout is 3 s) and
          // until 100 rows were written meanwhile (longer when the machine is busy: in CI, with the
          // whole suite on two cores, 150 rows once took more than 60 s).
          let outageEnd = ContinuousClock.now + .seconds(10)
          let outageLimit = ContinuousClock.now + .seconds(120)
          while written.withLock({ $0 }) - writtenAtPause < 100 || ContinuousClock.now < outageEnd {
            try #require(ContinuousClock.now < outageLimit, "100 rows were not written within 120 s")
            try await Task.sleep(for: .milliseconds(100))
          }
          // Counted before the pending rows, so that no row written in between is missing from them.
          writtenDuringOutage.withLock { $0 = written.withLock { $0 } - writtenAtPause }
          let pending = try await values(client, "SELECT count(*) FROM outbox WHERE sent_at IS NULL", as: Int.self)
          pendingDuringOutage.withLock { $0 = pending.first ?? 0 }
          broker.resume()
          // Writes go on for 2 s with the broker back, then stop.
          try await Task.sleep(for: .seconds(2))
          stop.withLock { $0 = true }
          try await writer.value
          // Drain: everything written is published.
          let deadline = ContinuousClock.now + .seconds(90)
          while try await values(client, "SELECT count(*) FROM outbox WHERE sent_at IS NULL", as: Int.self) != [0] {
            try #require(ContinuousClock.now < deadline, "the outbox did not drain after the broker came back")
            try await Task.sleep(for: .milliseconds(200))
          }
          group.cancelAll()
        }
      }
    }
    let total = written.withLock { $0 }
    // The backlog really built up while the broker was frozen: every row written meanwhile is
    // still pending.
    let duringOutage = writtenDuringOutage.withLock { $0 }
    #expect(duringOutage >= 100)
    #expect(pendingDuringOutage.withLock { $0 } >= duringOutage)

    let consumer = try await KafkaConsumer(
      configuration: kafka,
      subscription: .partitions([(topic, 0, .beginning), (topic, 1, .beginning)]),
      fetchWait: .milliseconds(10),
      logger: logger
    )
    var ids: [String] = []
    let deadline = ContinuousClock.now + .seconds(30)
    while Set(ids).count < total && ContinuousClock.now < deadline {
      ids += try await consumer.poll(maximum: 5000, timeout: .milliseconds(200)).compactMap {
        $0.headers.string("crm-event-id")
      }
    }
    await consumer.close()
    let lost = total - Set(ids).count
    let doubled = ids.count - Set(ids).count
    print(
      "outbox outage: \(total) written, \(pendingDuringOutage.withLock { $0 }) pending after 10 s, lost \(lost), doubled \(doubled)"
    )
    #expect(lost == 0)
  }
}
