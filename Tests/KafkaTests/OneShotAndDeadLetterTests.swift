import CRMKafka
import Testing

/// The one-shot mailbox and the dead-letter record, in process.
@Suite("One-shot mailbox and dead letters")
struct OneShotAndDeadLetterTests {
  @Test func aValueDeliveredBeforeOrAfterTheWaiterComesOnceAndLaterDeliveriesAreIgnored() async {
    let early = OneShot<Int>()
    early.deliver(1)
    early.deliver(2)
    #expect(await early.value() == 1)
    #expect(await early.value() == nil)  // awaited once only

    let late = OneShot<Int>()
    async let waited = late.value()
    try? await Task.sleep(for: .milliseconds(20))
    late.deliver(3)
    #expect(await waited == 3)
  }

  @Test func theDeadlineAndCancellationDeliverTheFallback() async {
    let expired = OneShot<Int?>()
    let value = await expired.value(until: .now + .milliseconds(20), orElse: nil)
    #expect(value == nil)
    expired.deliver(4)  // too late: ignored
    #expect(await expired.value() == nil)

    let cancelled = OneShot<Int?>()
    let task = Task { await cancelled.value(until: .now + .seconds(30), orElse: -1) }
    task.cancel()
    #expect(await task.value == -1)

    let delivered = OneShot<Int?>()
    delivered.deliver(5)
    #expect(await delivered.value(until: .now + .seconds(30), orElse: nil) == 5)
  }

  static let original = KafkaConsumerMessage(
    topic: "crm.events.test", partition: 2, offset: 7, key: [1], value: [1, 2, 3],
    headers: [KafkaHeader(key: "crm-dlq-error", string: "an old reason"), KafkaHeader(key: "h", string: "v")])

  @Test func theReasonHeadersComeFirstThenTheRecordsOwn() {
    let letter = DeadLetter.record(
      for: Self.original, topic: "crm.dlq.test", reason: "broken", kind: "permanent", consumer: "test", cap: .max)
    #expect(letter.topic == "crm.dlq.test")
    #expect(letter.key == [1])
    #expect(letter.value == [1, 2, 3])
    #expect(
      letter.headers.map(\.key) == [
        "crm-dlq-error", "crm-dlq-kind", "crm-dlq-origin", "crm-dlq-consumer", "crm-dlq-error", "h",
      ])
    #expect(letter.headers.string("crm-dlq-error") == "broken")
    #expect(letter.headers.string("crm-dlq-origin") == "crm.events.test/2/7")

    let plain = DeadLetter.record(for: Self.original, topic: "crm.dlq.rpc.test", reason: "bad", cap: .max)
    #expect(plain.headers.map(\.key) == ["crm-dlq-error", "crm-dlq-origin", "crm-dlq-error", "h"])
  }

  /// A caller's token is a credential: its header stays (the key says a token was there), its
  /// value does not.
  @Test func aCallersTokenIsNotCopiedIntoTheDeadLetter() {
    let token = "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJtLTE3In0.c2lnbmF0dXJl"
    let request = KafkaConsumerMessage(
      topic: "crm.rpc.contacts", partition: 0, offset: 1, key: nil, value: [0],
      headers: [
        KafkaHeader(key: "crm-md:authorization", string: token), KafkaHeader(key: "crm-rpc-method", string: "m"),
      ])
    let letter = DeadLetter.record(for: request, topic: "crm.dlq.rpc.contacts", reason: "bad", cap: .max)
    #expect(letter.headers.string("crm-md:authorization") == DeadLetter.redacted)
    #expect(letter.headers.string("crm-rpc-method") == "m")
    #expect(!letter.headers.contains { String(decoding: $0.value ?? [], as: UTF8.self).contains("eyJ") })
  }

  @Test func aLetterOverTheCapKeepsOnlyTheReasonAndTheSize() {
    let letter = DeadLetter.record(
      for: Self.original, topic: "crm.dlq.test", reason: String(repeating: "x", count: 10_000), cap: 10)
    #expect(letter.key == nil)
    #expect(letter.value.isEmpty)
    #expect(letter.headers.map(\.key) == ["crm-dlq-error", "crm-dlq-origin", "crm-dlq-truncated"])
    #expect(letter.headers.string("crm-dlq-error")?.count == DeadLetter.reasonCharacters)
    #expect(letter.headers.string("crm-dlq-truncated")?.hasPrefix("the original had ") == true)
  }
}
