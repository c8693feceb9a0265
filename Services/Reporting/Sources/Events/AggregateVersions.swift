import Logging
import PostgresNIO

/// The newest version applied per aggregate (`aggregate_versions`): an event at or below it
/// changes nothing (a late or repeated event). For a batch: the stored versions are read and
/// locked with one statement, each event is judged against the one before it in the batch, and
/// the new versions are written with one more, before any projection is.
enum AggregateVersions {
  struct Key: Hashable, Sendable {
    var topic: String
    var aggregateID: String
  }

  /// Whether each of `events` (in this order) is newer than its aggregate's version so far.
  static func advance(_ events: [StoredEvent], on connection: PostgresConnection, logger: Logger) async throws
    -> [Bool]
  {
    guard !events.isEmpty else { return [] }
    let keys = Set(events.map { Key(topic: $0.topic, aggregateID: $0.aggregateID) })
    var current: [Key: Int64] = [:]
    let stored = try await connection.execute(
      LockAggregateVersions(topics: keys.map(\.topic), aggregateIDs: keys.map(\.aggregateID)), logger: logger)
    for try await (topic, aggregateID, version) in stored {
      current[Key(topic: topic, aggregateID: aggregateID)] = version
    }
    let (applies, advanced) = judge(events, against: current)
    if !advanced.isEmpty {
      let versions = advanced.ordered
      try await connection.write(
        AdvanceAggregateVersions(
          topics: advanced.keys.map(\.topic), aggregateIDs: advanced.keys.map(\.aggregateID), versions: versions),
        logger: logger)
    }
    return applies
  }

  /// Pure: each event applies when its aggregate has no version yet or an older one; the
  /// versions it leaves (only the aggregates that moved).
  static func judge(_ events: [StoredEvent], against stored: [Key: Int64]) -> (
    applies: [Bool], advanced: OrderedFold<Key, Int64>
  ) {
    var current = stored
    var advanced = OrderedFold<Key, Int64>()
    let applies = events.map { event in
      let key = Key(topic: event.topic, aggregateID: event.aggregateID)
      if let version = current[key], version >= event.aggregateVersion { return false }
      current[key] = event.aggregateVersion
      advanced.replace(key, with: event.aggregateVersion)
      return true
    }
    return (applies, advanced)
  }
}
