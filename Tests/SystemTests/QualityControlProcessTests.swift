import CRMContracts
import CRMEvents
import CRMKafka
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// The quality-control executable on a broker of the test's own, as deployed (runtime role):
/// review items published on `crm.qc.review-items` reach its queue (a duplicate once, a
/// malformed one to its dead letters), a reviewer takes and scores one over Kafka, and the
/// review is published on `crm.qc.events`.
@Suite("Quality-control executable")
struct QualityControlProcessTests {
  static let logger = Logger(label: "quality-control-process-test")

  @Test(.timeLimit(.minutes(2)))
  func reviewItemsFromTheTopicAreReviewedOverKafka() async throws {
    try await TestSchema.with(database: "quality-control") { _, schema in
      try await run(schema: schema)
    }
  }

  static func item(_ id: String, rep: String) -> Crm_Qualitycontrol_V1_ReviewItem {
    .with {
      $0.itemID = id
      $0.kind = .call
      $0.occurredAt = .init(date: Date(timeIntervalSinceNow: -600))
      $0.repCode = rep
      $0.clientCode = "CLIENTCODE234567"
      $0.redactedText = "[REP] called [CLIENT] about the trailer; [CLIENT] asked to call back at [PHONE]"
    }
  }

  func run(schema: String) async throws {
    let broker = try await PrivateBroker()
    let process = try await ServiceProcess.start(
      "quality-control", brokers: broker.brokers, schema: schema,
      environment: [
        "CRM_DATABASE_URL": LocalStack.runtimeDatabaseURL("quality-control") + "&search_path=\(schema)",
        "CRM_MIGRATION_DATABASE_URL": LocalStack.databaseURL("quality-control") + "&search_path=\(schema)",
        "CRM_QC_DOUBLE_REVIEW_SHARE": "0",
      ])
    defer { process.signal(SIGKILL) }
    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "quality-control-process-test")

    // As activity publishes them: an envelope per item, keyed by the item id.
    let good = Self.item("ITEMCODE22222222", rep: "REPCODEAAAAAAAAA")
    var malformed = Self.item("ITEMCODE33333333", rep: "REPCODEAAAAAAAAA")
    malformed.repCode = "manager-9"
    let producer = try KafkaProducer(configuration: kafka, logger: Self.logger)
    let items = try [good, good, malformed].map { item in
      let event = try OutboxEvent(
        topic: EventTopics.qcReviewItems, aggregateID: item.itemID, aggregateVersion: 1, actor: "service:activity",
        payload: item)
      return KafkaProducerMessage(topic: event.topic, key: Array(event.key.utf8), value: event.envelope)
    }
    _ = try await producer.send(batch: items)
    await producer.shutdown()

    let head = TestIdentity.kafkaClient(kafka, service: "quality-control", as: "qc_head:head-1", logger: Self.logger)
    let reviewer = TestIdentity.kafkaClient(
      kafka, service: "quality-control", as: "qc_reviewer:r-1", logger: Self.logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in [head, reviewer] { group.addTask { try await client.runConnections() } }
      defer { for client in [head, reviewer] { client.beginGracefulShutdown() } }
      let asHead = Crm_Qualitycontrol_V1_QualityControl.Client(wrapping: head)
      let asReviewer = Crm_Qualitycontrol_V1_QualityControl.Client(wrapping: reviewer)

      let rubric = try await asHead.defineRubric(
        .with {
          $0.name = "Calls"
          $0.criteria = [
            .with {
              $0.key = "greeting"
              $0.label = "Greeting"
              $0.weight = 1
              $0.scaleMax = 2
            },
            .with {
              $0.key = "next_step"
              $0.label = "Next step agreed"
              $0.weight = 2
              $0.scaleMax = 5
            },
          ]
        })
      var leased = Crm_Qualitycontrol_V1_NextItemReply()
      let deadline = ContinuousClock.now + .seconds(60)
      while leased.leaseID.isEmpty {
        try #require(ContinuousClock.now < deadline, "no item reached the queue")
        leased = try await asReviewer.nextItem(.init())
        if leased.leaseID.isEmpty { try await Task.sleep(for: .milliseconds(200)) }
      }
      #expect(leased.item.itemID == good.itemID)
      #expect(leased.item.redactedText == good.redactedText)
      #expect(leased.rubric == rubric)
      let review = try await asReviewer.submitReview(
        .with {
          $0.itemID = leased.item.itemID
          $0.leaseID = leased.leaseID
          $0.scores = [
            .with {
              $0.criterion = "greeting"
              $0.value = 2
            },
            .with {
              $0.criterion = "next_step"
              $0.value = 4
            },
          ]
        })
      #expect(review.weightedScore == 86.67)  // (1 × 2/2 + 2 × 4/5) / 3
      let coverage = try await asHead.getCoverage(.init())
      #expect(coverage.received == 1)
      #expect(coverage.reviewed == 1)
      // Reviewers call reviewer methods only.
      let denied = await statusCode { try await asReviewer.getCoverage(.init()) }
      #expect(denied == .permissionDenied)
    }

    let letters = try await readAllRecords(
      "crm.dlq.quality-control-review-items", partitions: 1, count: 1, kafka: kafka, logger: Self.logger)
    #expect(letters.count == 1)
    let published = try await records(topic: EventTopics.qualityControl, kafka: kafka, for: .seconds(30)) {
      $0.contains { $0.envelope.type == Crm_Qualitycontrol_V1_ReviewSubmitted.protoMessageName }
    }
    let submitted = try #require(
      published.first { $0.envelope.type == Crm_Qualitycontrol_V1_ReviewSubmitted.protoMessageName })
    let event = try Crm_Qualitycontrol_V1_ReviewSubmitted(serializedBytes: submitted.envelope.payload)
    #expect(event.repCode == good.repCode)
    #expect(event.review.itemID == good.itemID)
  }
}
