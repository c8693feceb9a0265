import CRdKafka

extension RDKafkaHandle {
  /// Enqueues a record; its delivery report arrives on the main queue carrying `opaque`.
  /// Key, value and headers are copied, so the caller's buffers may go at once.
  func produce(_ message: KafkaProducerMessage, opaque: UInt) throws(KafkaError) {
    let headers = rd_kafka_headers_new(message.headers.count)!
    for header in message.headers {
      let status: rd_kafka_resp_err_t =
        if let value = header.value {
          value.withUnsafeBytes { rd_kafka_header_add(headers, header.key, -1, $0.baseAddress, $0.count) }
        } else {
          rd_kafka_header_add(headers, header.key, -1, nil, 0)
        }
      guard status == RD_KAFKA_RESP_ERR_NO_ERROR else {
        rd_kafka_headers_destroy(headers)
        throw KafkaError(.configuration, "header \(header.key): \(String(cString: rd_kafka_err2str(status)))")
      }
    }
    let error: OpaquePointer? = message.topic.withCString { topic in
      message.value.withUnsafeBytes { value in
        (message.key ?? []).withUnsafeBytes { key in
          var fields: [rd_kafka_vu_t] = []
          func field(_ type: rd_kafka_vtype_t, _ set: (inout rd_kafka_vu_t) -> Void) {
            var vu = rd_kafka_vu_t()
            vu.vtype = type
            set(&vu)
            fields.append(vu)
          }
          field(RD_KAFKA_VTYPE_TOPIC) { $0.u.cstr = topic }
          if let partition = message.partition { field(RD_KAFKA_VTYPE_PARTITION) { $0.u.i32 = partition } }
          field(RD_KAFKA_VTYPE_VALUE) {
            $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
            $0.u.mem.size = value.count
          }
          if message.key != nil {
            field(RD_KAFKA_VTYPE_KEY) {
              $0.u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
              $0.u.mem.size = key.count
            }
          }
          field(RD_KAFKA_VTYPE_HEADERS) { $0.u.headers = headers }
          field(RD_KAFKA_VTYPE_MSGFLAGS) { $0.u.i = RD_KAFKA_MSG_F_COPY }
          field(RD_KAFKA_VTYPE_OPAQUE) { $0.u.ptr = UnsafeMutableRawPointer(bitPattern: opaque) }
          return rd_kafka_produceva(pointer, fields, fields.count)
        }
      }
    }
    if let error {
      defer { rd_kafka_error_destroy(error) }
      rd_kafka_headers_destroy(headers)  // ownership passes to librdkafka only on success
      let code = rd_kafka_error_code(error)
      let kind: KafkaError.Kind =
        switch code {
        case RD_KAFKA_RESP_ERR__QUEUE_FULL: .queueFull
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE: .recordTooLarge
        default: .broker
        }
      throw KafkaError(kind, "produce to \(message.topic): \(String(cString: rd_kafka_error_string(error)))")
    }
  }

  /// One delivery outcome: the opaque given to `produce` and where the record went, or why not.
  struct Delivery {
    var opaque: UInt
    var result: Result<KafkaDeliveryReport, KafkaError>
  }

  /// Fails every record not yet confirmed, queued or in flight, at once (their delivery reports
  /// say so: `KafkaError.Kind.replaced`).
  func purge() {
    _ = rd_kafka_purge(pointer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
  }

  /// Blocking: waits until every queued record is delivered or `timeout` passes.
  func flush(timeout: Duration) -> Bool {
    rd_kafka_flush(pointer, Int32(timeout.wholeMilliseconds)) == RD_KAFKA_RESP_ERR_NO_ERROR
  }
}

/// A producer's main event queue, where its delivery reports arrive (the handle is made with
/// `events: RDKafkaDeliveryQueue.events`). Polled by one thread; released when that thread
/// drops it, before the handle it keeps alive.
final class RDKafkaDeliveryQueue {
  /// The events a producer's handle routes to its main queue: delivery reports.
  static let events = Int32(RD_KAFKA_EVENT_DR)

  private let handle: RDKafkaHandle
  private let queue: OpaquePointer

  init(of handle: RDKafkaHandle) {
    self.handle = handle
    queue = rd_kafka_queue_get_main(handle.pointer)
  }

  deinit { rd_kafka_queue_destroy(queue) }

  /// Blocking: waits up to `timeout` for the next batch of delivery reports.
  func poll(timeout: Duration) -> [RDKafkaHandle.Delivery] {
    guard let event = rd_kafka_queue_poll(queue, Int32(timeout.wholeMilliseconds)) else { return [] }
    defer { rd_kafka_event_destroy(event) }
    guard rd_kafka_event_type(event) == RD_KAFKA_EVENT_DR else { return [] }
    var deliveries: [RDKafkaHandle.Delivery] = []
    while let message = rd_kafka_event_message_next(event) {
      let m = message.pointee
      let opaque = UInt(bitPattern: m._private)
      let topic = m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
      if m.err == RD_KAFKA_RESP_ERR_NO_ERROR {
        deliveries.append(
          .init(opaque: opaque, result: .success(.init(topic: topic, partition: m.partition, offset: m.offset))))
      } else {
        let text = String(cString: rd_kafka_err2str(m.err))
        let error: KafkaError =
          switch m.err {
          case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE: KafkaError(.recordTooLarge, "delivery to \(topic) failed: \(text)")
          case RD_KAFKA_RESP_ERR__PURGE_QUEUE, RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
            KafkaError(.replaced, "delivery to \(topic) abandoned: the producer was replaced (\(text))")
          default: KafkaError(.delivery, "delivery to \(topic) failed: \(text)")
          }
        deliveries.append(.init(opaque: opaque, result: .failure(error)))
      }
    }
    return deliveries
  }
}
