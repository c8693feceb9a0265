import CRdKafka
import Foundation

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

  /// Blocking: each topic's id, nil for a topic the broker does not have. A topic deleted and
  /// created again under the same name gets a new id (the zero id: a broker without ids).
  func topicIDs(_ names: [String], timeout: Duration) throws(KafkaError) -> [String: KafkaTopicID?] {
    guard !names.isEmpty else { return [:] }
    let queue = rd_kafka_queue_new(pointer)!
    defer { rd_kafka_queue_destroy(queue) }
    let collection: OpaquePointer = names.withCStringArray { cNames in
      rd_kafka_TopicCollection_of_topic_names(cNames.baseAddress, cNames.count)
    }
    defer { rd_kafka_TopicCollection_destroy(collection) }
    let options = rd_kafka_AdminOptions_new(pointer, RD_KAFKA_ADMIN_OP_DESCRIBETOPICS)
    defer { rd_kafka_AdminOptions_destroy(options) }
    var errorText = [CChar](repeating: 0, count: 512)
    rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeout.wholeMilliseconds), &errorText, errorText.count)
    rd_kafka_DescribeTopics(pointer, collection, options, queue)
    guard let event = rd_kafka_queue_poll(queue, Int32(timeout.wholeMilliseconds)) else {
      throw KafkaError(.broker, "no answer to DescribeTopics within \(timeout)")
    }
    defer { rd_kafka_event_destroy(event) }
    guard rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR else {
      throw KafkaError(.broker, "DescribeTopics: \(String(cString: rd_kafka_event_error_string(event)))")
    }
    guard let result = rd_kafka_event_DescribeTopics_result(event) else {
      throw KafkaError(.broker, "DescribeTopics: unexpected event \(rd_kafka_event_type(event))")
    }
    var count = 0
    let descriptions = rd_kafka_DescribeTopics_result_topics(result, &count)
    var ids: [String: KafkaTopicID?] = [:]
    for index in 0..<count {
      guard let description = descriptions?[index] else { continue }
      let name = String(cString: rd_kafka_TopicDescription_name(description))
      if let error = rd_kafka_TopicDescription_error(description) {
        guard rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART else {
          throw KafkaError(.broker, "DescribeTopics \(name): \(String(cString: rd_kafka_error_string(error)))")
        }
        ids[name] = .some(nil)
        continue
      }
      let id = rd_kafka_TopicDescription_topic_id(description)
      ids[name] = KafkaTopicID(
        high: id.map { rd_kafka_Uuid_most_significant_bits($0) } ?? 0,
        low: id.map { rd_kafka_Uuid_least_significant_bits($0) } ?? 0)
    }
    return ids
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

extension Array where Element == String {
  /// The strings as a C array of C strings, valid inside `body`.
  fileprivate func withCStringArray<Result>(_ body: (UnsafeMutableBufferPointer<UnsafePointer<CChar>?>) -> Result)
    -> Result
  {
    let copies = map { strdup($0) }
    defer { for copy in copies { free(copy) } }
    var pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeMutableBufferPointer { body($0) }
  }
}
