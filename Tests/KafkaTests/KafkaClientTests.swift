import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import Testing

/// The Kafka client against the real local broker; each test uses topics of its own.
@Suite("Kafka client")
struct KafkaClientTests {
  let logger = Logger(label: "kafka-client-test")
  let configuration = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "kafka-client-test")

  func freshTopic(partitions: Int = 1) async throws -> (String, KafkaAdmin) {
    let admin = try KafkaAdmin(configuration: configuration, logger: logger)
    let topic = "test.kafka.\(UUID().uuidString.lowercased())"
    try await admin.createTopics([topic], partitions: partitions)
    return (topic, admin)
  }

  func collect(_ consumer: KafkaConsumer, count: Int, within limit: Duration = .seconds(20)) async throws
    -> [KafkaConsumerMessage]
  {
    var received: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + limit
    while received.count < count && ContinuousClock.now < deadline {
      received += try await consumer.poll(maximum: count - received.count, timeout: .milliseconds(200))
    }
    return received
  }

  @Test func libraryIsRecentEnough() throws {
    try KafkaLibrary.requireSupportedVersion()
    #expect(KafkaLibrary.version.hasPrefix("2."))
  }

  @Test func topicCreationIsIdempotentAndListed() async throws {
    let (topic, admin) = try await freshTopic(partitions: 3)
    try await admin.createTopics([topic], partitions: 3)  // again: no error
    let listed = try await admin.listTopics().first { $0.name == topic }
    #expect(listed?.partitionCount == 3)
    try await admin.deleteTopics([topic])
    try await admin.deleteTopics([topic])  // again: no error
    #expect(try await admin.listTopics().contains { $0.name == topic } == false)
  }

  @Test func sendReturnsWhereTheRecordWentAndConsumerSeesKeyValueHeaders() async throws {
    let (topic, admin) = try await freshTopic()
    defer { Task { try? await admin.deleteTopics([topic]) } }
    let producer = try KafkaProducer(configuration: configuration, logger: logger)
    var reports: [KafkaDeliveryReport] = []
    for i in 0..<3 {
      reports.append(
        try await producer.send(
          KafkaProducerMessage(
            topic: topic,
            key: Array("key-\(i)".utf8),
            value: Array("value-\(i)".utf8),
            headers: [KafkaHeader(key: "trace", string: "t\(i)"), KafkaHeader(key: "empty", value: nil)]
          )
        )
      )
    }
    #expect(reports.map(\.offset) == [0, 1, 2])
    #expect(reports.allSatisfy { $0.topic == topic && $0.partition == 0 })

    let consumer = try await KafkaConsumer(
      configuration: configuration,
      subscription: .partitions([(topic, 0, .beginning)]),
      fetchWait: .milliseconds(10),
      logger: logger
    )
    let received = try await collect(consumer, count: 3)
    #expect(received.map { String(decoding: $0.value, as: UTF8.self) } == ["value-0", "value-1", "value-2"])
    #expect(received.map { $0.key.map { String(decoding: $0, as: UTF8.self) } } == ["key-0", "key-1", "key-2"])
    #expect(received.map { $0.headers.string("trace") } == ["t0", "t1", "t2"])
    #expect(received.first?.headers.contains(KafkaHeader(key: "empty", value: nil)) == true)
    await consumer.close()
    await producer.shutdown()
  }

  @Test func directAssignmentFromTheHighWatermarkSeesOnlyNewRecords() async throws {
    let (topic, admin) = try await freshTopic()
    defer { Task { try? await admin.deleteTopics([topic]) } }
    let producer = try KafkaProducer(configuration: configuration, logger: logger)
    _ = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("old".utf8)))
    let consumer = try await KafkaConsumer(
      configuration: configuration,
      subscription: .partitions([(topic, 0, .highWatermark)]),
      fetchWait: .milliseconds(10),
      logger: logger
    )
    // Sent right after assignment: must not be lost to a lazily resolved end offset.
    _ = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("new".utf8)))
    let received = try await collect(consumer, count: 1)
    #expect(received.map { String(decoding: $0.value, as: UTF8.self) } == ["new"])
    await consumer.close()
    await producer.shutdown()
  }

  @Test func groupResumesAfterTheCommittedOffset() async throws {
    let (topic, admin) = try await freshTopic(partitions: 2)
    defer { Task { try? await admin.deleteTopics([topic]) } }
    let producer = try KafkaProducer(configuration: configuration, logger: logger)
    for i in 0..<10 {
      _ = try await producer.send(KafkaProducerMessage(topic: topic, key: Array("k\(i % 4)".utf8), value: [UInt8(i)]))
    }
    let group = "test.group.\(UUID().uuidString.lowercased())"
    let first = try await KafkaConsumer(
      configuration: configuration,
      subscription: .group(id: group, topics: [topic]),
      fetchWait: .milliseconds(10),
      logger: logger
    )
    let all = try await collect(first, count: 10)
    #expect(all.count == 10)
    // Commit the first record of each partition only: the rest must come again.
    let firstPerPartition = Dictionary(grouping: all, by: \.partition).compactMap {
      $0.value.min { $0.offset < $1.offset }
    }
    for message in firstPerPartition { try await first.commit(message) }
    await first.close()

    let second = try await KafkaConsumer(
      configuration: configuration,
      subscription: .group(id: group, topics: [topic]),
      fetchWait: .milliseconds(10),
      logger: logger
    )
    let again = try await collect(second, count: 10 - firstPerPartition.count)
    #expect(Set(again.map(\.value)) == Set(all.map(\.value)).subtracting(firstPerPartition.map(\.value)))
    await second.close()
    await producer.shutdown()
  }

  @Test func deliveryFailureSurfacesAsAnError() async throws {
    let closedPort = ClosedPort()
    var unreachable = KafkaConfiguration(bootstrapServers: [closedPort.address], clientID: "unreachable")
    unreachable.properties["message.timeout.ms"] = "1500"
    let producer = try KafkaProducer(configuration: unreachable, logger: logger)
    await #expect {
      _ = try await producer.send(KafkaProducerMessage(topic: "test.nowhere", value: [1]))
    } throws: { error in
      (error as? KafkaError)?.kind == .delivery
    }
    await producer.shutdown(timeout: .milliseconds(100))
  }

  @Test func aRejectedPropertyIsNamed() {
    var bad = configuration
    bad.properties["no.such.property"] = "1"
    #expect {
      _ = try KafkaProducer(configuration: bad, logger: logger)
    } throws: { error in
      (error as? KafkaError)?.kind == .configuration && "\(error)".contains("no.such.property")
    }
  }
}
