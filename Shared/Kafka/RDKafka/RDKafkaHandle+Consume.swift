import CRdKafka

extension RDKafkaHandle {
  /// Routes everything (rebalances included) to the consumer queue that `poll` serves.
  func redirectToConsumerQueue() {
    rd_kafka_poll_set_consumer(pointer)
  }

  /// Joins the consumer group for `topics`; partitions are assigned by the group.
  func subscribe(_ topics: [String]) throws(KafkaError) {
    let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for topic in topics { rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA) }
    let error = rd_kafka_subscribe(pointer, list)
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "subscribe to \(topics): \(String(cString: rd_kafka_err2str(error)))")
    }
  }

  /// Leaves the group's subscription and subscribes to `topics` again: the group rebalances
  /// and librdkafka fetches the topics' metadata anew (e.g. after they were recreated).
  func resubscribe(_ topics: [String]) throws(KafkaError) {
    let error = rd_kafka_unsubscribe(pointer)
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "unsubscribe: \(String(cString: rd_kafka_err2str(error)))")
    }
    try subscribe(topics)
  }

  /// Reads the given partitions from the given offsets, outside any group (no rebalances).
  func assign(_ partitions: [(topic: String, partition: Int32, offset: Int64)]) throws(KafkaError) {
    let list = rd_kafka_topic_partition_list_new(Int32(partitions.count))!
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for p in partitions { rd_kafka_topic_partition_list_add(list, p.topic, p.partition).pointee.offset = p.offset }
    let error = rd_kafka_assign(pointer, list)
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "assign \(partitions.map(\.topic)): \(String(cString: rd_kafka_err2str(error)))")
    }
  }

  /// Blocking: the partition's high watermark (the offset the next record will get).
  func highWatermark(topic: String, partition: Int32, timeout: Duration) throws(KafkaError) -> Int64 {
    var low: Int64 = 0
    var high: Int64 = 0
    let error = rd_kafka_query_watermark_offsets(
      pointer, topic, partition, &low, &high, Int32(timeout.wholeMilliseconds))
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "watermarks of \(topic)/\(partition): \(String(cString: rd_kafka_err2str(error)))")
    }
    return high
  }

  /// Blocking: waits up to `timeout` for a first record, then takes whatever else is already
  /// fetched, up to `maximum`. Errors on the way (e.g. partition EOF) are logged, not thrown.
  func poll(maximum: Int, timeout: Duration) -> [KafkaConsumerMessage] {
    var messages: [KafkaConsumerMessage] = []
    var wait = Int32(timeout.wholeMilliseconds)
    while messages.count < maximum, let raw = rd_kafka_consumer_poll(pointer, wait) {
      defer { rd_kafka_message_destroy(raw) }
      wait = 0
      let m = raw.pointee
      guard m.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
        if m.err != RD_KAFKA_RESP_ERR__PARTITION_EOF {
          logContext.takeUnretainedValue().logger.warning(
            "consumer: \(String(cString: rd_kafka_err2str(m.err)))"
          )
        }
        continue
      }
      messages.append(
        KafkaConsumerMessage(
          topic: m.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? "",
          partition: m.partition,
          offset: m.offset,
          key: m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) },
          value: m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? [],
          headers: Self.headers(of: raw)
        )
      )
    }
    return messages
  }

  private static func headers(of message: UnsafeMutablePointer<rd_kafka_message_t>) -> [KafkaHeader] {
    var list: OpaquePointer?
    guard rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return [] }
    var headers: [KafkaHeader] = []
    var index = 0
    var name: UnsafePointer<CChar>?
    var value: UnsafeRawPointer?
    var size = 0
    while rd_kafka_header_get_all(list, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
      let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
      headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
      index += 1
    }
    return headers
  }

  /// Commits `offset` (the next one to read) for each partition: synchronously (blocking until
  /// the broker confirms) or asynchronously (returns at once; a failure is only logged).
  func commit(_ offsets: [(topic: String, partition: Int32, offset: Int64)], wait: Bool = true) throws(KafkaError) {
    let list = rd_kafka_topic_partition_list_new(Int32(offsets.count))!
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for o in offsets { rd_kafka_topic_partition_list_add(list, o.topic, o.partition).pointee.offset = o.offset }
    let error = rd_kafka_commit(pointer, list, wait ? 0 : 1)
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET else {
      throw KafkaError(.commit, "commit: \(String(cString: rd_kafka_err2str(error)))")
    }
  }

  /// Blocking (briefly): how many partitions this consumer holds right now.
  func assignmentCount() throws(KafkaError) -> Int {
    var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    let error = rd_kafka_assignment(pointer, &list)
    defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "assignment: \(String(cString: rd_kafka_err2str(error)))")
    }
    return Int(list?.pointee.cnt ?? 0)
  }

  /// Blocking (briefly): the partitions this consumer holds right now.
  func assignment() throws(KafkaError) -> [KafkaTopicPartition] {
    var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    let error = rd_kafka_assignment(pointer, &list)
    defer { if let list { rd_kafka_topic_partition_list_destroy(list) } }
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "assignment: \(String(cString: rd_kafka_err2str(error)))")
    }
    guard let list, let elements = list.pointee.elems else { return [] }
    return (0..<Int(list.pointee.cnt)).map { i in
      KafkaTopicPartition(topic: String(cString: elements[i].topic), partition: elements[i].partition)
    }
  }

  /// Stops (`pause: true`) or restarts fetching from these partitions; the group membership is
  /// untouched, so polling goes on serving heartbeats and rebalances. A resumed partition
  /// fetches again from the last record handed to the application, so nothing is skipped.
  func setPaused(_ pause: Bool, _ partitions: [KafkaTopicPartition]) throws(KafkaError) {
    guard !partitions.isEmpty else { return }
    let list = rd_kafka_topic_partition_list_new(Int32(clamping: partitions.count))!
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for p in partitions { rd_kafka_topic_partition_list_add(list, p.topic, p.partition) }
    let error = pause ? rd_kafka_pause_partitions(pointer, list) : rd_kafka_resume_partitions(pointer, list)
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "\(pause ? "pause" : "resume"): \(String(cString: rd_kafka_err2str(error)))")
    }
  }

  /// Blocking: leaves the group (revoking partitions) and stops fetching.
  func closeConsumer() {
    rd_kafka_consumer_close(pointer)
  }
}

extension RDKafkaHandle {
  /// Blocking: each partition's end offset (the offset its next record gets), in one
  /// ListOffsets request per leader.
  func endOffsets(_ partitions: [KafkaTopicPartition], timeout: Duration) throws(KafkaError)
    -> [KafkaTopicPartition: Int64]
  {
    try Self.offsets(of: partitions, startingAt: Int64(RD_KAFKA_OFFSET_END)) { list throws(KafkaError) in
      let error = rd_kafka_offsets_for_times(pointer, list, Int32(timeout.wholeMilliseconds))
      guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
        throw KafkaError(.broker, "end offsets: \(String(cString: rd_kafka_err2str(error)))")
      }
    }
  }

  /// Blocking: the offset of the next record this consumer would hand out from each partition:
  /// `known` (the caller's count of what it polled), else librdkafka's position (after the last
  /// record polled; reset by a seek), else the group's committed offset, else the partition's
  /// first offset (where `auto.offset.reset=earliest` starts).
  func readPositions(
    _ partitions: [KafkaTopicPartition], known: [KafkaTopicPartition: Int64], timeout: Duration
  ) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
    let invalid = Int64(RD_KAFKA_OFFSET_INVALID)
    var read = known.filter { partitions.contains($0.key) }
    read.merge(try positions(partitions.filter { read[$0] == nil })) { known, _ in known }
    var unknown = partitions.filter { (read[$0] ?? invalid) < 0 }
    if !unknown.isEmpty {
      let committed = try Self.offsets(of: unknown, startingAt: invalid) { list throws(KafkaError) in
        let error = rd_kafka_committed(pointer, list, Int32(timeout.wholeMilliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
          throw KafkaError(.broker, "committed offsets: \(String(cString: rd_kafka_err2str(error)))")
        }
      }
      read.merge(committed.filter { $0.value >= 0 }) { _, committed in committed }
      unknown = unknown.filter { (read[$0] ?? invalid) < 0 }
    }
    if !unknown.isEmpty {
      let first = try Self.offsets(of: unknown, startingAt: Int64(RD_KAFKA_OFFSET_BEGINNING)) {
        list throws(KafkaError) in
        let error = rd_kafka_offsets_for_times(pointer, list, Int32(timeout.wholeMilliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
          throw KafkaError(.broker, "first offsets: \(String(cString: rd_kafka_err2str(error)))")
        }
      }
      read.merge(first) { _, first in first }
    }
    return read
  }

  /// librdkafka's position of each partition: the offset after the last record handed out,
  /// when it knows one (not after an assignment or a seek).
  func positions(_ partitions: [KafkaTopicPartition]) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
    let positions = try Self.offsets(of: partitions, startingAt: Int64(RD_KAFKA_OFFSET_INVALID), lenient: true) {
      list throws(KafkaError) in
      let error = rd_kafka_position(pointer, list)
      guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
        throw KafkaError(.broker, "positions: \(String(cString: rd_kafka_err2str(error)))")
      }
    }
    return positions.filter { $0.value >= 0 }
  }

  /// Blocking: fetching goes on from these offsets (for a paused partition: once resumed).
  func seek(_ offsets: [KafkaTopicPartition: Int64], timeout: Duration) throws(KafkaError) {
    guard !offsets.isEmpty else { return }
    let list = rd_kafka_topic_partition_list_new(Int32(clamping: offsets.count))!
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for (p, offset) in offsets { rd_kafka_topic_partition_list_add(list, p.topic, p.partition).pointee.offset = offset }
    if let error = rd_kafka_seek_partitions(pointer, list, Int32(timeout.wholeMilliseconds)) {
      defer { rd_kafka_error_destroy(error) }
      throw KafkaError(.broker, "seek: \(String(cString: rd_kafka_error_string(error)))")
    }
    guard let elements = list.pointee.elems else { return }
    for i in 0..<Int(list.pointee.cnt) where elements[i].err != RD_KAFKA_RESP_ERR_NO_ERROR {
      throw KafkaError(
        .broker,
        "seek \(String(cString: elements[i].topic))/\(elements[i].partition): \(String(cString: rd_kafka_err2str(elements[i].err)))"
      )
    }
  }

  /// Runs `body` on a partition list whose offsets start at `start`, and reads the offsets it
  /// left. A partition with an error of its own throws, or with `lenient` is left out.
  private static func offsets(
    of partitions: [KafkaTopicPartition], startingAt start: Int64, lenient: Bool = false,
    _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(KafkaError) -> Void
  ) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
    guard !partitions.isEmpty else { return [:] }
    let list = rd_kafka_topic_partition_list_new(Int32(clamping: partitions.count))!
    defer { rd_kafka_topic_partition_list_destroy(list) }
    for p in partitions { rd_kafka_topic_partition_list_add(list, p.topic, p.partition).pointee.offset = start }
    try body(list)
    var offsets: [KafkaTopicPartition: Int64] = [:]
    guard let elements = list.pointee.elems else { return offsets }
    for i in 0..<Int(list.pointee.cnt) {
      let partition = KafkaTopicPartition(topic: String(cString: elements[i].topic), partition: elements[i].partition)
      guard elements[i].err == RD_KAFKA_RESP_ERR_NO_ERROR else {
        if lenient { continue }
        throw KafkaError(.broker, "offset of \(partition): \(String(cString: rd_kafka_err2str(elements[i].err)))")
      }
      offsets[partition] = elements[i].offset
    }
    return offsets
  }
}
