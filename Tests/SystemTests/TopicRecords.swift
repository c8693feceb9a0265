import CRMContracts
import CRMKafka
import Logging

/// The records on `topic` (with their envelopes) seen within `duration`, or until `done`.
func records(
  topic: String, kafka: KafkaConfiguration, for duration: Duration,
  until done: ([(record: KafkaConsumerMessage, envelope: Crm_Events_V1_EventEnvelope)]) -> Bool = { _ in false }
) async throws -> [(record: KafkaConsumerMessage, envelope: Crm_Events_V1_EventEnvelope)] {
  let consumer = try await KafkaConsumer(
    configuration: kafka, subscription: .partitions((0..<8).map { (topic, Int32($0), .beginning) }),
    fetchWait: .milliseconds(10), logger: Logger(label: "topic-records"))
  var envelopes: [(record: KafkaConsumerMessage, envelope: Crm_Events_V1_EventEnvelope)] = []
  let deadline = ContinuousClock.now + duration
  while ContinuousClock.now < deadline && !done(envelopes) {
    for record in try await consumer.poll(timeout: .milliseconds(200)) {
      envelopes.append((record, try Crm_Events_V1_EventEnvelope(serializedBytes: record.value)))
    }
  }
  await consumer.close()
  return envelopes
}
