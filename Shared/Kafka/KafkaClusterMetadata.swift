/// What the broker says about the cluster: its brokers and topics.
public struct KafkaClusterMetadata: Sendable, Equatable {
  public struct Topic: Sendable, Equatable {
    public var name: String
    public var partitionCount: Int
  }

  public var brokers: [String]
  public var topics: [Topic]
}
