import CRdKafka
import Dispatch
import Logging

/// Owns one `rd_kafka_t`. This folder is the only place that touches librdkafka pointers;
/// everything above it sees `Sendable` value types.
final class RDKafkaHandle: @unchecked Sendable {
  enum Kind {
    case producer
    case consumer

    var cType: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
  }

  // Immutable after init; librdkafka's handle is thread-safe for the calls made here.
  let pointer: OpaquePointer
  let logContext: Unmanaged<RDKafkaLogContext>
  /// Where this client's blocking calls run (see `BlockingCalls`).
  let blockingQueue: DispatchQueue

  /// `events`: the RD_KAFKA_EVENT_… kinds to route to the main queue (producers: delivery reports).
  init(kind: Kind, properties: [String: String], logger: Logger, events: Int32 = 0) throws(KafkaError) {
    let conf = try RDKafkaHandle.makeConf(properties)
    if events != 0 { rd_kafka_conf_set_events(conf, events) }
    let context = Unmanaged.passRetained(RDKafkaLogContext(logger: logger))
    rd_kafka_conf_set_opaque(conf, context.toOpaque())
    rd_kafka_conf_set_log_cb(conf, rdKafkaLogCallback)

    var errorText = [CChar](repeating: 0, count: 512)
    guard let handle = rd_kafka_new(kind.cType, conf, &errorText, errorText.count) else {
      rd_kafka_conf_destroy(conf)
      context.release()
      throw KafkaError(.configuration, "librdkafka refused to create a client: \(String(cBuffer: errorText))")
    }
    pointer = handle
    logContext = context
    blockingQueue = BlockingCalls.makeQueue(kind == .producer ? "producer" : "consumer")
  }

  /// Runs a blocking librdkafka call of this client off the cooperative pool.
  func blocking<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await BlockingCalls.run(on: blockingQueue, body)
  }

  deinit {
    // rd_kafka_destroy waits for librdkafka's threads (up to a second or so): never on the
    // cooperative pool, where the last reference is usually dropped.
    let pointer = UncheckedPointer(pointer)
    let logContext = self.logContext
    Self.destroyQueue.async {
      rd_kafka_destroy(pointer.value)
      // The log callback may run until rd_kafka_destroy returns: free its context only now.
      logContext.release()
    }
  }

  private static let destroyQueue = BlockingCalls.makeQueue("destroy")

  /// The handle's pointer on its way to the destroy queue; nothing else holds it by then.
  private struct UncheckedPointer: @unchecked Sendable {
    let value: OpaquePointer
    init(_ value: OpaquePointer) { self.value = value }
  }

  private static func makeConf(_ properties: [String: String]) throws(KafkaError) -> OpaquePointer {
    let conf = rd_kafka_conf_new()!
    var errorText = [CChar](repeating: 0, count: 512)
    for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
      if rd_kafka_conf_set(conf, key, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
        rd_kafka_conf_destroy(conf)
        throw KafkaError(.configuration, "librdkafka property \(key)=\(value): \(String(cBuffer: errorText))")
      }
    }
    return conf
  }

  /// Blocking: call through `BlockingCalls`.
  /// `allTopics`: also list every topic of the cluster (else only the brokers).
  func metadata(allTopics: Bool, timeout: Duration) throws(KafkaError) -> KafkaClusterMetadata {
    var metadata: UnsafePointer<rd_kafka_metadata>?
    let error = rd_kafka_metadata(pointer, allTopics ? 1 : 0, nil, &metadata, Int32(timeout.wholeMilliseconds))
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
      throw KafkaError(.broker, "metadata request failed: \(String(cString: rd_kafka_err2str(error)))")
    }
    defer { rd_kafka_metadata_destroy(metadata) }
    let md = metadata.pointee
    let brokers = (0..<Int(md.broker_cnt)).map { i in
      let broker = md.brokers[i]
      return "\(String(cString: broker.host)):\(broker.port)"
    }
    let topics = (0..<Int(md.topic_cnt)).map { i in
      let topic = md.topics[i]
      return KafkaClusterMetadata.Topic(name: String(cString: topic.topic), partitionCount: Int(topic.partition_cnt))
    }
    return KafkaClusterMetadata(brokers: brokers, topics: topics)
  }
}

extension Duration {
  /// The duration in whole milliseconds (rounded toward zero), as librdkafka and Kafka headers
  /// take it; saturates at Int64's bounds instead of trapping on a huge duration.
  public var wholeMilliseconds: Int64 {
    let (seconds, attoseconds) = components
    let (millis, overflow) = seconds.multipliedReportingOverflow(by: 1000)
    guard !overflow else { return seconds < 0 ? .min : .max }
    let (sum, sumOverflow) = millis.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
    return sumOverflow ? (millis < 0 ? .min : .max) : sum
  }
}

extension String {
  /// The text of a NUL-terminated buffer that librdkafka filled.
  init(cBuffer: [CChar]) {
    self.init(decoding: cBuffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
