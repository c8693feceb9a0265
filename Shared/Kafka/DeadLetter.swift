/// A record that cannot be served or applied, as it goes to a dead-letter topic (DESIGN §5):
/// the reason headers first — `crm-dlq-error`, `crm-dlq-kind`, `crm-dlq-origin`
/// (`topic/partition/offset`), `crm-dlq-consumer` —, then the record's own headers. A header is
/// read by its first occurrence, so the record's own `crm-dlq-*` headers (a record that was
/// dead-lettered before) cannot pass for the reason. Credentials are not copied: a header
/// whose key ends in `authorization` (a call's `crm-md:authorization` token) keeps its key, and
/// its value is replaced, since dead letters are read by operators, not by the caller.
public enum DeadLetter {
  /// The most characters of the reason kept in `crm-dlq-error`.
  public static let reasonCharacters = 4_000
  /// What a credential header of the original holds in its dead letter.
  public static let redacted = "[redacted]"

  /// The dead letter of `original` on `topic`. When it would take more than `cap` bytes
  /// (`KafkaProducerMessage.approximateSize`), only the reason headers and
  /// `crm-dlq-truncated` (the size) are kept: no key, no value, none of the record's headers.
  public static func record(
    for original: KafkaConsumerMessage,
    topic: String,
    reason: String,
    kind: String? = nil,
    consumer: String? = nil,
    cap: Int
  ) -> KafkaProducerMessage {
    var headers = [KafkaHeader(key: "crm-dlq-error", string: String(reason.prefix(reasonCharacters)))]
    if let kind { headers.append(KafkaHeader(key: "crm-dlq-kind", string: kind)) }
    headers.append(KafkaHeader(key: "crm-dlq-origin", string: origin(of: original)))
    if let consumer { headers.append(KafkaHeader(key: "crm-dlq-consumer", string: consumer)) }
    let own = original.headers.map { header in
      header.key.lowercased().hasSuffix("authorization")
        ? KafkaHeader(key: header.key, string: redacted) : header
    }
    let letter = KafkaProducerMessage(topic: topic, key: original.key, value: original.value, headers: headers + own)
    let size = letter.approximateSize
    guard size > cap else { return letter }
    // The record plus the reason would not fit the broker: keep the reason and where it was.
    return KafkaProducerMessage(
      topic: topic,
      value: [],
      headers: headers + [KafkaHeader(key: "crm-dlq-truncated", string: "the original had \(size) bytes")]
    )
  }

  /// Where a record was: `topic/partition/offset`.
  public static func origin(of record: KafkaConsumerMessage) -> String {
    "\(record.topic)/\(record.partition)/\(record.offset)"
  }
}
