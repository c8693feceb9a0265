import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// Inbox errors are classed (issue 11): a record that can never apply is dead-lettered and the
/// consumer goes on; a passing error is retried, and dead-lettered only after a few tries.
@Suite("Inbox consumer: failing records")
struct InboxFailureTests {
  let logger = Logger(label: "inbox-failure-test")
  let kafka = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "inbox-failure-test")
  let schema =
    InboxConsumer.migrations + [
      Migration(
        version: 1, name: "applied", statements: ["CREATE TABLE applied (event_id text NOT NULL, text text NOT NULL)"])
    ]

  func record(_ topic: String, _ text: String, id: String) throws -> KafkaProducerMessage {
    var envelope = Crm_Events_V1_EventEnvelope()
    envelope.eventID = id
    envelope.type = Crm_Common_V1_EchoRequest.protoMessageName
    envelope.aggregateID = "a"
    envelope.payload = try Crm_Common_V1_EchoRequest.with { $0.text = text }.serializedData()
    return KafkaProducerMessage(topic: topic, partition: 0, value: Array(try envelope.serializedData()))
  }

  /// Inserts the text; "reject" is refused by the handler; texts starting with "fail N" raise a
  /// real PostgreSQL error of SQLSTATE 40001 for their first N attempts (`attempts` counts them).
  static func handler(attempts: Locked<[String: Int]>) -> InboxConsumer.Handler {
    { event, connection in
      let logger = Logger(label: "inbox-failure-test")
      let text = try Crm_Common_V1_EchoRequest(serializedBytes: event.envelope.payload).text
      guard text != "reject" else { throw EventRejected("text may not be \"reject\"") }
      guard text != "invalid" else { throw InvalidField(field: "text", reason: "may not be \"invalid\"") }
      if text.hasPrefix("fail "), let times = Int(text.split(separator: " ")[1]) {
        let attempt = attempts.withLock { counts in
          counts[event.envelope.eventID, default: 0] += 1
          return counts[event.envelope.eventID, default: 0]
        }
        if attempt <= times {
          _ = try await connection.query(
            "DO $$ BEGIN RAISE EXCEPTION 'serialization failure for the test' USING ERRCODE = '40001'; END $$",
            logger: logger
          ).collect()
        }
      }
      _ = try await connection.query(
        "INSERT INTO applied VALUES (\(event.envelope.eventID), \(text))", logger: logger
      ).collect()
    }
  }

  /// Sends `records` to a fresh topic, runs a consumer until `expected` event ids are applied,
  /// and returns the dead letters (at least `deadLetters` of them) and how many attempts were retried.
  func consume(
    _ texts: [(id: String, text: String)], expected: [String], deadLetters: Int, retry: InboxConsumer.Retry
  ) async throws -> (dead: [KafkaConsumerMessage], retried: Int, applied: [String]) {
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    let suffix = UUID().uuidString.prefix(8).lowercased()
    let topic = "test.inbox-failure.\(suffix)"
    let name = "failure-\(suffix)"
    try await admin.createTopics([topic], partitions: 1)
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    _ = try await producer.send(batch: try texts.map { try record(topic, $0.text, id: $0.id) })
    let retried = Locked(0)
    var applied: [String] = []
    try await TestSchema.with(database: "reporting") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(schema, on: client, logger: logger)
        let consumer = InboxConsumer(
          name: name, topics: [topic], client: client, kafka: kafka, deadLetterProducer: producer, retry: retry,
          logger: logger, onCommitted: { outcome in retried.withLock { $0 += outcome.retried } },
          handler: Self.handler(attempts: Locked([:])))
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await consumer.run() }
          let deadline = ContinuousClock.now + .seconds(60)
          while try await values(client, "SELECT count(*) FROM applied", as: Int.self) != [expected.count] {
            try #require(ContinuousClock.now < deadline, "not \(expected.count) applied in time")
            try await Task.sleep(for: .milliseconds(100))
          }
          group.cancelAll()
        }
        applied = try await values(client, "SELECT event_id FROM applied ORDER BY event_id", as: String.self)
      }
    }
    let reader = try await KafkaConsumer(
      configuration: kafka, subscription: .partitions([("crm.dlq.\(name)", 0, .beginning)]),
      fetchWait: .milliseconds(10), logger: logger)
    var dead: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + .seconds(10)
    while dead.count < deadLetters && ContinuousClock.now < deadline {
      dead += try await reader.poll(timeout: .milliseconds(200))
    }
    dead += try await reader.poll(timeout: .milliseconds(300))  // nothing more should come
    await reader.close()
    await producer.shutdown()
    try await admin.deleteTopics([topic, "crm.dlq.\(name)"])
    return (dead, retried.withLock { $0 }, applied)
  }

  @Test func aPermanentlyFailingRecordIsDeadLetteredAndTheNextOneApplied() async throws {
    let (dead, retried, applied) = try await consume(
      [
        // The last record is a good one: once it is applied, every record before it was handled.
        ("nul", "a NUL \u{0} is data PostgreSQL refuses (22021)"), ("good1", "good 1"), ("rejected", "reject"),
        ("invalid", "invalid"), ("good2", "good 2"),
      ],
      expected: ["good1", "good2"], deadLetters: 3, retry: .init(maxAttempts: 5))
    #expect(applied == ["good1", "good2"])
    #expect(retried == 0)  // dead-lettered at once, not retried
    let headers = dead.map { ($0.headers.string("crm-dlq-kind"), $0.headers.string("crm-dlq-error") ?? "") }
    #expect(headers.count == 3)
    #expect(headers.contains { $0.0 == "permanent" && $0.1.contains("text: may not be \"invalid\"") })
    #expect(headers.contains { $0.0 == "permanent" && $0.1.contains("SQLSTATE 22021") })
    #expect(headers.contains { $0.0 == "permanent" && $0.1.contains("may not be \"reject\"") })
  }

  @Test func aTransientErrorIsRetriedThenAppliedAndOneThatNeverPassesIsDeadLettered() async throws {
    let (dead, retried, applied) = try await consume(
      [("flaky", "fail 2"), ("stuck", "fail 1000"), ("after", "after")],
      expected: ["after", "flaky"], deadLetters: 1,
      retry: .init(maxAttempts: 4, firstBackoff: .milliseconds(50), maximumBackoff: .milliseconds(200)))
    #expect(applied == ["after", "flaky"])
    #expect(retried >= 1 + 3)  // flaky: retried once after the batch failed; stuck: 3 times before the 4th failure
    #expect(dead.count == 1)
    #expect(dead.first?.headers.string("crm-dlq-kind") == "retries-exhausted")
    #expect(dead.first?.headers.string("crm-dlq-error")?.contains("SQLSTATE 40001") == true)
  }
}
