import ArgumentParser
import CRMKafka
import Foundation
import Logging

/// One Kafka hop, sequentially: how long until the producer's delivery report, and until a
/// directly assigned consumer has the record. The floor under every RPC.
struct KafkaHopBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kafka-hop", abstract: "Measure one produce→consume hop.")

  @Option var brokers = "127.0.0.1:19092"
  @Option var messages = 300
  @Option var fetchWaitMs = 1

  func run() async throws {
    let logger = Logger(label: "hop")
    let kafka = KafkaConfiguration(bootstrapServers: [brokers], clientID: "hop", properties: ["linger.ms": "0"])
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    let topic = "bench.hop.\(UUID().uuidString.prefix(8).lowercased())"
    try await admin.createTopics([topic], partitions: 1)
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    let consumer = try await KafkaConsumer(
      configuration: kafka,
      subscription: .partitions([(topic, 0, .highWatermark)]),
      fetchWait: .milliseconds(fetchWaitMs),
      logger: logger
    )
    var delivered: [Double] = []
    var consumed: [Double] = []
    let clock = ContinuousClock()
    for i in 0..<messages {
      let start = clock.now
      async let report = producer.send(KafkaProducerMessage(topic: topic, value: Array("m\(i)".utf8)))
      var got: [KafkaConsumerMessage] = []
      while got.isEmpty { got = try await consumer.poll(maximum: 1, timeout: .milliseconds(100)) }
      consumed.append(
        Double((clock.now - start).components.attoseconds) / 1e15 + Double((clock.now - start).components.seconds)
          * 1000)
      _ = try await report
      delivered.append(Double((clock.now - start).components.attoseconds) / 1e15)
    }
    func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
    func p99(_ values: [Double]) -> Double { values.sorted()[values.count * 99 / 100] }
    print(String(format: "consumed: p50 %.2f ms p99 %.2f ms", median(consumed), p99(consumed)))
    let tenth = max(1, consumed.count / 10)
    print(
      String(
        format: "first tenth p50 %.2f ms, last tenth p50 %.2f ms",
        median(Array(consumed.prefix(tenth))),
        median(Array(consumed.suffix(tenth)))
      )
    )
    print(String(format: "delivered (after consumed): p50 %.2f ms", median(delivered)))
    await consumer.close()
    await producer.shutdown()
    try await admin.deleteTopics([topic])
  }
}
