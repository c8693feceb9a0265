import CRMKafka
import Logging
import PostgresNIO

extension OutboxRelay {
  /// Creates the topics the relay published to (or was configured with) that the broker no
  /// longer has, and publishes their kept rows again; returns those topics.
  @discardableResult
  func recoverLostTopics(on connection: PostgresConnection) async throws -> [String] {
    let watched = lossWatch.topics
    guard !watched.isEmpty else { return [] }
    let admin = try currentAdmin()
    let present = Set(try await admin.listTopics(timeout: .seconds(1)).map(\.name))
    let lost = watched.subtracting(present).sorted()
    guard !lost.isEmpty else { return [] }
    try await admin.createTopics(lost, partitions: configuration.topicPartitions)
    lossWatch.forget(lost)
    try await replayLost(lost, on: connection)
    return lost
  }

  /// Marks every kept sent row of `topics` unsent: the broker lost them, and whether their
  /// consumers had read them is unknown (inboxes skip the ones they had). In id order, so each
  /// aggregate's events come again in their order.
  func replayLost(_ topics: [String], on connection: PostgresConnection) async throws {
    let count = try await connection.query(
      "UPDATE outbox SET sent_at = NULL WHERE sent_at IS NOT NULL AND topic = ANY(\(topics)) RETURNING id",
      logger: logger
    ).collect().count
    logger.error(
      "outbox relay: the broker lost records of \(topics.joined(separator: ", ")); publishing \(count) kept rows again")
  }
}
