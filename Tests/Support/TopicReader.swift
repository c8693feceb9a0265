import CRMKafka
import Logging

/// Everything on `topic` (all partitions, from the start) until `count` arrived or 30 s passed,
/// then half a second more for stragglers (duplicates would show there).
public func readAllRecords(
  _ topic: String, partitions: Int, count: Int, kafka: KafkaConfiguration, logger: Logger
) async throws -> [KafkaConsumerMessage] {
  let consumer = try await KafkaConsumer(
    configuration: kafka,
    subscription: .partitions((0..<Int32(partitions)).map { (topic, $0, .beginning) }),
    fetchWait: .milliseconds(10),
    logger: logger
  )
  var records: [KafkaConsumerMessage] = []
  let deadline = ContinuousClock.now + .seconds(30)
  while records.count < count && ContinuousClock.now < deadline {
    records += try await consumer.poll(maximum: 5000, timeout: .milliseconds(200))
  }
  records += try await consumer.poll(maximum: 5000, timeout: .milliseconds(500))
  await consumer.close()
  return records
}
