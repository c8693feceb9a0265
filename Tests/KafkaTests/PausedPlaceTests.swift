import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import Testing

/// A paused partition keeps its place (`KafkaConsumer.places`, then `resume(at:)`): records
/// fetched but not handed out before the pause come after the resume, also from a partition
/// nothing was handed out from yet (librdkafka alone would go on past them). End offsets tell
/// what arrived.
@Suite("Kafka consumer: pausing keeps each partition's place")
struct PausedPlaceTests {
  let logger = Logger(label: "paused-place-test")
  let configuration = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "paused-place-test")

  @Test func recordsFetchedBeforeThePauseComeAfterTheResume() async throws {
    let admin = try KafkaAdmin(configuration: configuration, logger: logger)
    let topic = "test.paused.\(UUID().uuidString.lowercased())"
    try await admin.createTopics([topic], partitions: 2)
    defer { Task { try? await admin.deleteTopics([topic]) } }
    let producer = try KafkaProducer(configuration: configuration, logger: logger)
    let sent = [(0, "a0"), (0, "a1"), (0, "a2"), (1, "b0"), (1, "b1")]
    for (partition, text) in sent {
      _ = try await producer.send(
        KafkaProducerMessage(topic: topic, partition: Int32(partition), value: Array(text.utf8)))
    }
    let consumer = try await KafkaConsumer(
      configuration: configuration, subscription: .group(id: "test.paused.\(UUID().uuidString)", topics: [topic]),
      fetchWait: .milliseconds(5), logger: logger)
    defer { Task { await consumer.close() } }
    let partitions = [KafkaTopicPartition(topic: topic, partition: 0), KafkaTopicPartition(topic: topic, partition: 1)]

    // One record handed out; by then the fetcher holds more of both partitions.
    var first: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + .seconds(30)
    while first.isEmpty && ContinuousClock.now < deadline {
      first = try await consumer.poll(maximum: 1, timeout: .milliseconds(200))
    }
    let handed = try #require(first.first)
    try await Task.sleep(for: .milliseconds(300))  // let the fetcher run ahead
    let handedPartition = KafkaTopicPartition(topic: topic, partition: handed.partition)
    let places = try await consumer.places(of: partitions, handedOut: [handedPartition: handed.offset + 1])
    try consumer.pause(partitions)
    #expect(places[handedPartition] == handed.offset + 1)
    let other = partitions.first { $0 != handedPartition }!
    #expect(places[other] == 0, "nothing handed out or committed: the partition's first offset")
    #expect(try await consumer.endOffsets(partitions) == [partitions[0]: 3, partitions[1]: 2])
    #expect(try await consumer.poll(maximum: 10, timeout: .milliseconds(300)).isEmpty, "paused")

    try await consumer.resume(at: places)
    var rest: [KafkaConsumerMessage] = []
    while rest.count < 4 && ContinuousClock.now < deadline {
      rest += try await consumer.poll(maximum: 10, timeout: .milliseconds(200))
    }
    let texts = ([handed] + rest).map { String(decoding: $0.value, as: UTF8.self) }
    #expect(texts.sorted() == sent.map(\.1).sorted(), "every record once, none skipped")
  }
}
