import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// The local broker keeps records in memory only: restarted, it comes back with no topics.
/// Events published before the loss reach their consumers again (issue 11).
@Suite("Events when the broker comes back empty")
struct BrokerLossTests {
  let logger = Logger(label: "broker-loss-test")

  @Test func eventsPublishedBeforeTheLossReachTheirConsumersAgain() async throws {
    let broker = try await RestartableBroker()
    var kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "broker-loss-test")
    kafka.properties["message.timeout.ms"] = "3000"  // a record for a lost topic fails fast
    let topic = "test.loss.\(UUID().uuidString.prefix(8).lowercased())"
    let schema =
      Outbox.migrations + InboxConsumer.migrations + [
        Migration(version: 1, name: "applied", statements: ["CREATE TABLE applied (event_id text PRIMARY KEY)"])
      ]
    try await TestSchema.with(database: "reporting") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(schema, on: client, logger: logger)
        let producer = try KafkaProducer(configuration: kafka, logger: logger)
        let relay = OutboxRelay(
          client: client, kafka: kafka,
          configuration: .init(topics: [topic], topicPartitions: 2, topicCheckInterval: .milliseconds(500)),
          logger: logger)
        func consumer() -> InboxConsumer {
          InboxConsumer(
            name: "loss", topics: [topic], client: client, kafka: kafka, deadLetterProducer: producer,
            topicPartitions: 2, topicCheckInterval: .milliseconds(500), logger: logger,
            handler: { event, connection in
              _ = try await connection.query(
                "INSERT INTO applied VALUES (\(event.envelope.eventID))", logger: Logger(label: "broker-loss-test")
              ).collect()
            })
        }
        var written = 0
        func write(_ count: Int) async throws {
          let events = (0..<count).map { i in
            OutboxEvent(
              eventID: "e\(written + i)", topic: topic, key: "k\((written + i) % 3)", type: "test",
              envelope: Array(
                try! Crm_Events_V1_EventEnvelope.with {
                  $0.eventID = "e\(written + i)"
                  $0.type = "test"
                }.serializedData()))
          }
          try await client.withTransaction(logger: logger) { try await Outbox.append(events, on: $0, logger: logger) }
          written += count
        }
        func waitUntil(_ what: String, _ condition: () async throws -> Bool) async throws {
          let deadline = ContinuousClock.now + .seconds(60)
          while try await !condition() {
            try #require(ContinuousClock.now < deadline, "not in time: \(what)")
            try await Task.sleep(for: .milliseconds(100))
          }
        }
        func applied() async throws -> Int { try await values(client, "SELECT count(*) FROM applied", as: Int.self)[0] }
        func unsent() async throws -> Int {
          try await values(client, "SELECT count(*) FROM outbox WHERE sent_at IS NULL", as: Int.self)[0]
        }

        let relayTask = Task { try await relay.run() }
        var reader = consumer()
        var consumerTask = Task { [reader] in try await reader.run() }
        try await write(10)
        try await waitUntil("10 applied") { try await applied() == 10 }

        // Published while no consumer reads, then lost with the broker.
        consumerTask.cancel()
        _ = await consumerTask.result
        try await write(10)
        try await waitUntil("20 published") { try await unsent() == 0 }
        try await broker.restart()
        reader = consumer()
        consumerTask = Task { [reader] in try await reader.run() }
        try await waitUntil("the 10 lost events applied after the broker came back empty") {
          try await applied() == 20
        }

        // Lost again while the consumer runs and no relay does: the consumer finds its topic
        // gone, creates it, and joins again; what is published next reaches it.
        relayTask.cancel()
        _ = await relayTask.result
        try await broker.restart()
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        try await waitUntil("the consumer created its topic") {
          try await admin.listTopics().contains { $0.name == topic && $0.partitionCount == 2 }
        }
        try await write(5)
        let relayAgain = Task { try await relay.run() }
        try await waitUntil("5 more applied after the second loss") { try await applied() == 25 }
        #expect(try await values(client, "SELECT count(*) FROM inbox", as: Int.self) == [25])

        consumerTask.cancel()
        relayAgain.cancel()
        _ = await (consumerTask.result, relayAgain.result)
        await producer.shutdown()
      }
    }
    await broker.stop()
  }
}
