import CRdKafka

extension RDKafkaHandle {
  /// Blocking: creates topics; ones that exist already count as created.
  func createTopics(_ names: [String], partitions: Int, replicationFactor: Int, timeout: Duration) throws(KafkaError) {
    var errorText = [CChar](repeating: 0, count: 512)
    var newTopics: [OpaquePointer?] = []
    defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
    for name in names {
      guard
        let topic = rd_kafka_NewTopic_new(
          name, Int32(partitions), Int32(replicationFactor), &errorText, errorText.count)
      else {
        throw KafkaError(.configuration, "topic \(name): \(String(cBuffer: errorText))")
      }
      newTopics.append(topic)
    }
    try adminRequest(timeout: timeout, expect: Int32(RD_KAFKA_EVENT_CREATETOPICS_RESULT)) { queue in
      rd_kafka_CreateTopics(pointer, &newTopics, newTopics.count, nil, queue)
    } results: { event in
      var count = 0
      let results = rd_kafka_event_CreateTopics_result(event).flatMap {
        rd_kafka_CreateTopics_result_topics($0, &count)
      }
      return (0..<count).compactMap { results?[$0] }
    } accept: {
      $0 == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
    }
  }

  /// Blocking: deletes topics; ones that do not exist count as deleted.
  func deleteTopics(_ names: [String], timeout: Duration) throws(KafkaError) {
    var deletions: [OpaquePointer?] = names.map { rd_kafka_DeleteTopic_new($0) }
    defer { for deletion in deletions { rd_kafka_DeleteTopic_destroy(deletion) } }
    try adminRequest(timeout: timeout, expect: Int32(RD_KAFKA_EVENT_DELETETOPICS_RESULT)) { queue in
      rd_kafka_DeleteTopics(pointer, &deletions, deletions.count, nil, queue)
    } results: { event in
      var count = 0
      let results = rd_kafka_event_DeleteTopics_result(event).flatMap {
        rd_kafka_DeleteTopics_result_topics($0, &count)
      }
      return (0..<count).compactMap { results?[$0] }
    } accept: {
      $0 == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
    }
  }

  /// Sends an admin request whose answer arrives on a private queue, and checks each topic result.
  private func adminRequest(
    timeout: Duration,
    expect eventType: Int32,
    send: (OpaquePointer) -> Void,
    results: (OpaquePointer) -> [OpaquePointer],
    accept: (rd_kafka_resp_err_t) -> Bool
  ) throws(KafkaError) {
    let queue = rd_kafka_queue_new(pointer)!
    defer { rd_kafka_queue_destroy(queue) }
    send(queue)
    guard let event = rd_kafka_queue_poll(queue, Int32(timeout.wholeMilliseconds)) else {
      throw KafkaError(.broker, "no admin answer within \(timeout)")
    }
    defer { rd_kafka_event_destroy(event) }
    guard rd_kafka_event_type(event) == eventType else {
      throw KafkaError(.broker, "admin request: unexpected event \(rd_kafka_event_type(event))")
    }
    let error = rd_kafka_event_error(event)
    guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "admin request: \(String(cString: rd_kafka_event_error_string(event)))")
    }
    for result in results(event) {
      let code = rd_kafka_topic_result_error(result)
      guard code == RD_KAFKA_RESP_ERR_NO_ERROR || accept(code) else {
        let name = String(cString: rd_kafka_topic_result_name(result))
        let text = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? "\(code)"
        throw KafkaError(.broker, "topic \(name): \(text)")
      }
    }
  }
}
