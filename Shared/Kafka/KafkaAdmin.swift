import Logging

/// Cluster-level requests: metadata now; topic management comes with the messaging layer.
public final class KafkaAdmin: Sendable {
  let handle: RDKafkaHandle

  public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
    handle = try RDKafkaHandle(kind: .producer, properties: configuration.librdkafkaProperties(), logger: logger)
  }

  /// Asks a broker for the cluster's metadata; fails when none answers within `timeout`.
  /// Without `allTopics` only brokers are listed: the cheap question a readiness probe asks.
  public func clusterMetadata(allTopics: Bool = false, timeout: Duration) async throws -> KafkaClusterMetadata {
    let handle = self.handle
    return try await handle.blocking { try handle.metadata(allTopics: allTopics, timeout: timeout) }
  }
}

extension KafkaAdmin {
  /// Creates the topics that do not exist yet (idempotent).
  public func createTopics(
    _ names: [String],
    partitions: Int,
    replicationFactor: Int = 1,
    timeout: Duration = .seconds(10)
  ) async throws {
    let handle = self.handle
    try await handle.blocking {
      try handle.createTopics(names, partitions: partitions, replicationFactor: replicationFactor, timeout: timeout)
    }
  }

  /// Deletes the topics that exist (idempotent).
  public func deleteTopics(_ names: [String], timeout: Duration = .seconds(10)) async throws {
    let handle = self.handle
    try await handle.blocking { try handle.deleteTopics(names, timeout: timeout) }
  }

  public func listTopics(timeout: Duration = .seconds(5)) async throws -> [KafkaClusterMetadata.Topic] {
    try await clusterMetadata(allTopics: true, timeout: timeout).topics
  }
}

extension KafkaAdmin {
  /// Each topic's id, nil for one the broker does not have (see `KafkaTopicID`).
  public func topicIDs(_ names: [String], timeout: Duration = .seconds(5)) async throws -> [String: KafkaTopicID?] {
    let handle = self.handle
    return try await handle.blocking { try handle.topicIDs(names, timeout: timeout) }
  }
}
