import Synchronization

/// Tells which of a client's topics the broker lost since the last look: the topic is missing,
/// or it is there under a new id (deleted and created again, by whoever came first: another
/// replica, the publisher, a consumer). A broker that restarted empty (the local one keeps
/// records in memory only) has lost every topic, every group's offsets and every idempotent
/// producer's id. Looking only for missing topics is not enough: a topic created again
/// before the look hides the loss, while a group consumer that found it missing at its rejoin
/// never takes it up again (librdkafka looks again at its metadata refresh, minutes later).
public final class KafkaTopicWatch: Sendable {
  private let admin: KafkaAdmin
  /// The id each topic had at the last look (nil: missing then, or never looked at).
  private let seen: Mutex<[String: KafkaTopicID?]>

  public init(admin: KafkaAdmin, topics: [String]) {
    self.admin = admin
    seen = Mutex(Dictionary(topics.map { ($0, nil) }) { first, _ in first })
  }

  public var topics: [String] { seen.withLock { Array($0.keys) }.sorted() }

  /// Watches `topics` too (from the next look on).
  public func add(_ topics: some Sequence<String>) {
    seen.withLock { seen in
      for topic in topics where seen.index(forKey: topic) == nil { seen[topic] = .some(nil) }
    }
  }

  /// The watched topics lost since the last look: missing now, or there with another id than
  /// then. A topic seen missing is reported at every look until it is back; one that is back
  /// after being missing is not reported again. Throws when the broker does not answer (which
  /// proves nothing). Call it right after creating the topics, so the ids they have are known.
  public func lostTopics(timeout: Duration = .seconds(2)) async throws -> [String] {
    let names = topics
    let now = try await admin.topicIDs(names, timeout: timeout)
    return seen.withLock { seen in
      var lost: [String] = []
      for name in names {
        let current = now[name] ?? nil
        let before = seen[name] ?? nil
        switch (before, current) {
        case (_, nil):
          lost.append(name)
        case (let before?, let current?) where before.isKnown && current.isKnown && before != current:
          lost.append(name)
        default:
          break
        }
        seen[name] = current
      }
      return lost
    }
  }
}
