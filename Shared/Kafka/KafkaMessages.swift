/// A record header; Kafka allows null values.
public struct KafkaHeader: Sendable, Hashable {
  public var key: String
  public var value: [UInt8]?

  public init(key: String, value: [UInt8]?) {
    self.key = key
    self.value = value
  }

  public init(key: String, string: String) {
    self.init(key: key, value: Array(string.utf8))
  }

  public var stringValue: String? { value.map { String(decoding: $0, as: UTF8.self) } }
}

extension [KafkaHeader] {
  /// The value of the first header named `key`, as UTF-8 text.
  public func string(_ key: String) -> String? {
    first { $0.key == key }?.stringValue
  }
}

/// One partition of a topic.
public struct KafkaTopicPartition: Sendable, Hashable, CustomStringConvertible {
  public var topic: String
  public var partition: Int32

  public init(topic: String, partition: Int32) {
    self.topic = topic
    self.partition = partition
  }

  public var description: String { "\(topic)/\(partition)" }
}

/// A record to produce.
public struct KafkaProducerMessage: Sendable, Hashable {
  public var topic: String
  /// nil: the partitioner picks one from the key (or spreads records without a key).
  public var partition: Int32?
  public var key: [UInt8]?
  public var value: [UInt8]
  public var headers: [KafkaHeader]

  public init(topic: String, partition: Int32? = nil, key: [UInt8]? = nil, value: [UInt8], headers: [KafkaHeader] = [])
  {
    self.topic = topic
    self.partition = partition
    self.key = key
    self.value = value
    self.headers = headers
  }

  /// Bytes the record takes in a batch, close enough to compare with the broker's limit.
  public var approximateSize: Int {
    headers.reduce(value.count + (key?.count ?? 0) + 64) { $0 + $1.key.utf8.count + ($1.value?.count ?? 0) + 8 }
  }
}

/// Where the broker stored a record.
public struct KafkaDeliveryReport: Sendable, Hashable {
  public var topic: String
  public var partition: Int32
  public var offset: Int64
}

/// A consumed record.
public struct KafkaConsumerMessage: Sendable, Hashable {
  public var topic: String
  public var partition: Int32
  public var offset: Int64
  public var key: [UInt8]?
  public var value: [UInt8]
  public var headers: [KafkaHeader]

  public init(
    topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8], headers: [KafkaHeader] = []
  ) {
    self.topic = topic
    self.partition = partition
    self.offset = offset
    self.key = key
    self.value = value
    self.headers = headers
  }
}
