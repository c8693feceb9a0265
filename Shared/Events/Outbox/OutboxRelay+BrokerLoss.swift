import CRMKafka
import Logging
import PostgresNIO

extension OutboxRelay {
  /// Looks whether the broker lost topics the relay published to (or was configured with):
  /// missing, or made again meanwhile (by a consumer, say: see `KafkaTopicWatch`). A loss is
  /// kept until `recoverLostTopics` dealt with it, and the producer is replaced at once: the
  /// broker lost its id too, and a batch waiting on it would wait until it times out.
  func lookForLostTopics() async {
    guard let watch = try? currentTopicWatch() else { return }
    watch.add(lossWatch.topics)
    // Half a second: the relay's shutdown waits for this look (the next one asks again).
    guard let lost = try? await watch.lostTopics(timeout: .milliseconds(500)), !lost.isEmpty else { return }
    logger.error("outbox relay: the broker lost topic \(lost.joined(separator: ", ")) (restarted empty?)")
    lostTopics.withLock { $0.formUnion(lost) }
    await renewProducer()
  }

  /// Creates the lost topics again (see `lookForLostTopics`, which it calls first) and
  /// publishes their kept rows again; returns those topics. Once the transaction of
  /// `connection` commits, the caller calls `recovered` with them.
  func recoverLostTopics(on connection: PostgresConnection) async throws -> [String] {
    await lookForLostTopics()
    let lost = lostTopics.withLock { $0 }.sorted()
    guard !lost.isEmpty else { return [] }
    try await currentAdmin().createTopics(lost, partitions: configuration.topicPartitions)
    lossWatch.forget(lost)
    try await replayLost(lost, on: connection)
    return lost
  }

  /// The kept rows of `topics` are marked for publishing again (committed).
  func recovered(_ topics: [String]) {
    lostTopics.withLock { $0.subtract(topics) }
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
