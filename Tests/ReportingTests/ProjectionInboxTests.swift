import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMRuntime
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

@testable import ReportingService

/// Reporting's consumer as the service runs it (inbox → handler → projector) on a topic of the
/// test's own: a poison event among good ones is dead-lettered alone and the rest applies.
@Suite("Reporting projections through the inbox")
struct ProjectionInboxTests {
  let logger = Logger(label: "projection-inbox-test")
  let kafka = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "projection-inbox-test")

  @Test func aPoisonEventInTheMiddleIsDeadLetteredAndTheRestOfTheBatchApplies() async throws {
    let flow = SalesFlow()
    let (deal, opened) = try flow.open(0, owner: "m-1", kind: .active, source: "cold", amount: 10, at: SalesFlow.day(0))
    let poison = try Envelopes.event(
      Crm_Deals_V1_DealOpened(), topic: EventTopics.deals, aggregateID: flow.deals[1], version: 1,
      at: SalesFlow.day(0), payloadBytes: [0xFF, 0xFF, 0xFF])
    let events = [
      try flow.pipelineDefined(), opened, try flow.move(deal, to: 1, at: SalesFlow.day(1)), poison,
      try flow.estimate(deal, 60, at: SalesFlow.day(2)),
      try SalesFlow.activity(on: flow.deals[0], by: "m-1", at: SalesFlow.day(2)),
    ]
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    let run = UUID().uuidString.prefix(8).lowercased()
    let topic = "test.projection-inbox.\(run)"
    let name = "projection-inbox-\(run)"
    try await admin.createTopics([topic], partitions: 1)
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    // One partition, all sent before the consumer starts: its first poll takes them together.
    _ = try await producer.send(
      batch: events.map { KafkaProducerMessage(topic: topic, partition: 0, value: $0.record.value) })
    let deadLettered = Locked(0)
    let handler = ReportingComponents.eventsSubscription(logger: logger).batchHandler
    try await TestSchema.with(database: "reporting") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(
          ServiceApplication.kitMigrations + ReportingComponents.migrations, on: client, logger: logger)
        let consumer = InboxConsumer(
          name: name, topics: [topic], client: client, kafka: kafka, deadLetterProducer: producer,
          logger: logger, onCommitted: { outcome in deadLettered.withLock { $0 += outcome.deadLettered } },
          batchHandler: handler)
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await consumer.run() }
          let deadline = ContinuousClock.now + .seconds(60)
          while try await values(client, "SELECT count(*) FROM events", as: Int.self) != [events.count - 1] {
            try #require(ContinuousClock.now < deadline, "the good events not applied in time")
            try await Task.sleep(for: .milliseconds(100))
          }
          group.cancelAll()
        }
        #expect(deadLettered.withLock { $0 } == 1)
        #expect(
          try await values(
            client, "SELECT event_id FROM events WHERE event_id = \(poison.envelope.eventID)", as: String.self
          ).isEmpty)
        #expect(
          try await values(
            client, "SELECT stage_id || ' ' || probability FROM deals WHERE id = \(flow.deals[0])", as: String.self)
            == ["\(flow.stages[1]) 60"])
        #expect(
          try await values(client, "SELECT count(*) FROM deal_activity WHERE deal_id = \(flow.deals[0])", as: Int.self)
            == [1])
      }
    }
    await producer.shutdown()
    try await admin.deleteTopics([topic, "crm.dlq.\(name)"])
  }
}
