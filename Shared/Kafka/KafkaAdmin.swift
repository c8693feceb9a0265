import Logging

/// Cluster-level requests: metadata now; topic management comes with the messaging layer.
public final class KafkaAdmin: Sendable {
  private let handle: RDKafkaHandle

  public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
    handle = try RDKafkaHandle(kind: .producer, properties: configuration.librdkafkaProperties(), logger: logger)
  }

  /// Asks a broker for the cluster's metadata; fails when none answers within `timeout`.
  public func clusterMetadata(timeout: Duration) async throws -> KafkaClusterMetadata {
    let handle = self.handle
    return try await BlockingCalls.run { try handle.metadata(timeout: timeout) }
  }
}
