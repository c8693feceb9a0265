import Foundation

/// What the broker says about the cluster: its brokers and topics.
public struct KafkaClusterMetadata: Sendable, Equatable {
  public struct Topic: Sendable, Equatable {
    public var name: String
    public var partitionCount: Int
  }

  public var brokers: [String]
  public var topics: [Topic]
}

/// A topic's identity: the broker gives a topic created again under the same name a new id.
public struct KafkaTopicID: Sendable, Hashable, CustomStringConvertible {
  public var high: Int64
  public var low: Int64

  /// A broker that does not keep ids answers zero: then only a missing topic tells a loss.
  public var isKnown: Bool { high != 0 || low != 0 }

  public var description: String { String(format: "%016llx%016llx", UInt64(bitPattern: high), UInt64(bitPattern: low)) }
}
