import CRMContracts
import CRMEvents
import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import QualityControlService

/// Review items arriving: each item id once, withheld items counted but not queued, malformed
/// items rejected — in process, and through the real inbox consumer and broker.
@Suite("Review item intake")
struct ItemIntakeTests {
  @Test func anItemIsStoredOnceAndAWithheldOneIsCountedNotQueued() async throws {
    try await QualityControlHarness.with(settings: .init(leaseSeconds: 900, doubleReviewShare: 1)) { context in
      let item = QualityControlHarness.item()
      try await context.deliver(item)
      // The same item again (another event id): nothing changes.
      try await context.deliver(item)
      var changed = item
      changed.redactedText = "another text under the same id"
      try await context.deliver(changed)
      #expect(try await context.count("SELECT count(*) FROM review_items") == 1)
      #expect(try await context.count("SELECT count(*) FROM review_slots") == 2)  // share 1: two passes
      #expect(
        try await values(context.database, "SELECT redacted_text FROM review_items", as: String.self) == [
          item.redactedText
        ])

      var withheld = QualityControlHarness.item(text: "")
      withheld.withheld = true
      withheld.withheldReason = .phone
      try await context.deliver(withheld)
      #expect(try await context.count("SELECT count(*) FROM review_slots") == 2)
      let coverage = try await context.as("qc_head:head-1") { try await context.qc.getCoverage(.init()) }
      #expect(coverage.received == 2)
      #expect(coverage.withheld == 1)
      #expect(coverage.awaitingRubric == 1)
    }
  }

  @Test func malformedItemsAndForeignTypesAreRejected() async throws {
    try await QualityControlHarness.with { context in
      var bad = QualityControlHarness.item()
      bad.repCode = "Petrov"
      await #expect(throws: EventRejected.self) { try await context.deliver(bad) }
      let good = QualityControlHarness.item()
      await #expect(throws: EventRejected.self) {
        try await context.deliver(good, type: "crm.activity.v1.ActivityLogged")
      }
      await #expect(throws: EventRejected.self) { try await context.deliver(good, aggregateID: "OTHERID2") }
      let stored = try await context.count("SELECT count(*) FROM review_items")
      #expect(stored == 0)
    }
  }

  /// The service's own subscription handler under the real inbox consumer, on a topic of the
  /// test's own: a malformed item goes to the dead letters, a duplicate changes nothing.
  @Test(.timeLimit(.minutes(2)))
  func theInboxDeadLettersMalformedItemsAndSkipsDuplicates() async throws {
    let logger = Logger(label: "qc-intake-test")
    let kafka = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "qc-intake-test")
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    let suffix = UUID().uuidString.prefix(8).lowercased()
    let topic = "test.qc.review-items.\(suffix)"
    let name = "test-qc-\(suffix)"
    try await admin.createTopics([topic], partitions: 1)
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    defer { Task { await producer.shutdown() } }

    func record(_ item: Crm_Qualitycontrol_V1_ReviewItem) throws -> KafkaProducerMessage {
      let event = try OutboxEvent(
        topic: topic, aggregateID: item.itemID, aggregateVersion: 1, actor: "service:activity", payload: item)
      return KafkaProducerMessage(topic: topic, key: Array(event.key.utf8), value: event.envelope)
    }
    let good = QualityControlHarness.item()
    var malformed = QualityControlHarness.item()
    malformed.clientCode = "+7 912 345-67-89"
    let after = QualityControlHarness.item()
    _ = try await producer.send(batch: [
      try record(good), try record(good), try record(malformed),
      KafkaProducerMessage(topic: topic, value: Array("not protobuf".utf8)), try record(after),
    ])

    try await QualityControlHarness.with { context in
      let subscription = ReviewItemsHandler(repository: context.repository).subscription
      let consumer = InboxConsumer(
        name: name, topics: [topic], client: context.database, kafka: kafka, deadLetterProducer: producer,
        logger: logger, handler: subscription.handler)
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await consumer.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        while try await context.count("SELECT count(*) FROM review_items") < 2 {
          try #require(ContinuousClock.now < deadline, "the items did not arrive")
          try await Task.sleep(for: .milliseconds(100))
        }
        group.cancelAll()
      }
      #expect(
        try await values(context.database, "SELECT id FROM review_items ORDER BY seq", as: String.self) == [
          good.itemID, after.itemID,
        ])
      let letters = try await readAllRecords(
        consumer.deadLetterTopic, partitions: 1, count: 2, kafka: kafka, logger: logger)
      #expect(letters.count == 2)
      let errors = letters.compactMap { record in
        record.headers.first { $0.key == "crm-dlq-error" }?.value.map { String(decoding: $0, as: UTF8.self) }
      }
      #expect(errors.contains { $0.contains("client_code") })
      // The dead letter names the field, never echoes what was in it.
      #expect(!errors.joined().contains("912"))
    }
  }
}
