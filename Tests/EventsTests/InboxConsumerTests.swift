import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// The inbox consumer against the real PostgreSQL and broker.
@Suite("Inbox consumer")
struct InboxConsumerTests {
  let logger = Logger(label: "inbox-test")
  let kafka = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "inbox-test")
  let schema =
    InboxConsumer.migrations + [
      Migration(
        version: 1, name: "applied", statements: ["CREATE TABLE applied (event_id text NOT NULL, text text NOT NULL)"])
    ]

  func envelope(_ text: String, id: String = UUID().uuidString) throws -> [UInt8] {
    var envelope = Crm_Events_V1_EventEnvelope()
    envelope.eventID = id
    envelope.type = Crm_Common_V1_EchoRequest.protoMessageName
    envelope.aggregateID = "a"
    envelope.payload = try Crm_Common_V1_EchoRequest.with { $0.text = text }.serializedData()
    return Array(try envelope.serializedData())
  }

  /// Applies Echo events by inserting their text; "reject" is bad content.
  let handler: InboxConsumer.Handler = { event, connection in
    let text = try Crm_Common_V1_EchoRequest(serializedBytes: event.envelope.payload).text
    guard text != "reject" else { throw EventRejected("text may not be \"reject\"") }
    _ = try await connection.query(
      "INSERT INTO applied VALUES (\(event.envelope.eventID), \(text))",
      logger: Logger(label: "inbox-test")
    ).collect()
  }

  @Test func duplicatesAndReplaysChangeNothingAndBadRecordsAreDeadLettered() async throws {
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    let topic = "test.inbox.\(UUID().uuidString.prefix(8).lowercased())"
    let name = "test-\(UUID().uuidString.prefix(8).lowercased())"
    try await admin.createTopics([topic], partitions: 2)
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    let events = 200
    var messages: [KafkaProducerMessage] = []
    for i in 0..<events {
      let value = try envelope("event \(i)", id: "e\(i)")
      // Every event twice, the copy some records later.
      messages.append(KafkaProducerMessage(topic: topic, key: Array("k\(i % 7)".utf8), value: value))
      if i >= 3 {
        messages.append(
          KafkaProducerMessage(
            topic: topic, key: Array("k\((i - 3) % 7)".utf8), value: try envelope("event \(i - 3)", id: "e\(i - 3)")))
      }
    }
    for i in (events - 3)..<events {
      messages.append(
        KafkaProducerMessage(topic: topic, key: Array("k\(i % 7)".utf8), value: try envelope("event \(i)", id: "e\(i)"))
      )
    }
    messages.append(KafkaProducerMessage(topic: topic, partition: 0, value: Array("this is not protobuf".utf8)))
    messages.append(KafkaProducerMessage(topic: topic, partition: 1, value: try envelope("no id", id: "")))
    messages.append(KafkaProducerMessage(topic: topic, partition: 0, value: try envelope("reject")))
    // Good records after the bad ones, on both partitions.
    for partition in Int32(0)...1 {
      messages.append(
        KafkaProducerMessage(
          topic: topic, partition: partition, value: try envelope("after \(partition)", id: "after\(partition)"))
      )
    }
    _ = try await producer.send(batch: messages)

    try await TestSchema.with(database: "reporting") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(schema, on: client, logger: logger)
        func consumeUntilApplied(_ count: Int, groupID: String) async throws {
          let consumer = InboxConsumer(
            name: name,
            topics: [topic],
            client: client,
            kafka: kafka,
            deadLetterProducer: producer,
            groupID: groupID,
            logger: logger,
            handler: handler
          )
          try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await consumer.run() }
            // A group's first join on the local broker takes seconds, many more with the whole
            // suite on two cores (60 s was missed by 65 ms once).
            let deadline = ContinuousClock.now + .seconds(120)
            while try await values(client, "SELECT count(*) FROM applied", as: Int.self) != [count] {
              try #require(ContinuousClock.now < deadline, "not \(count) applied in time")
              try await Task.sleep(for: .milliseconds(100))
            }
            group.cancelAll()
          }
        }
        // All events and the two "after" records, each applied once despite the copies.
        try await consumeUntilApplied(events + 2, groupID: "crm.inbox.\(name)")
        let state = try await values(client, "SELECT text FROM applied ORDER BY text", as: String.self)
        #expect(Set(state).count == events + 2)

        // The group rewound to the beginning (a new group id), plus two new events at the end.
        for partition in Int32(0)...1 {
          _ = try await producer.send(
            KafkaProducerMessage(topic: topic, partition: partition, value: try envelope("marker \(partition)"))
          )
        }
        try await consumeUntilApplied(events + 4, groupID: "crm.inbox.\(name).rewound")
        try await Task.sleep(for: .seconds(1))  // a late double application would show now
        let replayed = try await values(client, "SELECT text FROM applied ORDER BY text", as: String.self)
        #expect(replayed.count == events + 4)
        #expect(replayed.filter { !$0.hasPrefix("marker") } == state)
        #expect(try await values(client, "SELECT count(*) FROM inbox", as: Int.self) == [events + 4])
      }
    }

    let deadLetters = try await KafkaConsumer(
      configuration: kafka,
      subscription: .partitions([("crm.dlq.\(name)", 0, .beginning)]),
      fetchWait: .milliseconds(10),
      logger: logger
    )
    var dead: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + .seconds(20)
    while dead.count < 3 && ContinuousClock.now < deadline {
      dead += try await deadLetters.poll(timeout: .milliseconds(200))
    }
    await deadLetters.close()
    let errors = dead.compactMap { $0.headers.string("crm-dlq-error") }
    #expect(errors.contains { $0.hasPrefix("undecodable event") })
    #expect(errors.contains { $0.contains("no event_id") })
    #expect(errors.contains { $0.contains("may not be \"reject\"") })
    #expect(dead.allSatisfy { $0.headers.string("crm-dlq-origin")?.hasPrefix(topic + "/") == true })
    await producer.shutdown()
    try await admin.deleteTopics([topic, "crm.dlq.\(name)"])
  }
}
