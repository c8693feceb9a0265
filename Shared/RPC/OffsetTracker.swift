/// Which request offsets may be committed while calls finish out of order: per partition, the
/// lowest offset still in flight (or one past the highest seen when none is), so a crash never
/// skips a request that was not answered.
struct OffsetTracker {
  private struct Key: Hashable {
    var topic: String
    var partition: Int32
  }

  private struct Partition {
    var inFlight: Set<Int64> = []
    var nextAfterSeen: Int64 = 0
    var committed: Int64 = -1
  }

  private var partitions: [Key: Partition] = [:]

  mutating func started(topic: String, partition: Int32, offset: Int64) {
    let key = Key(topic: topic, partition: partition)
    partitions[key, default: Partition()].inFlight.insert(offset)
    partitions[key]!.nextAfterSeen = max(partitions[key]!.nextAfterSeen, offset + 1)
  }

  mutating func finished(topic: String, partition: Int32, offset: Int64) {
    partitions[Key(topic: topic, partition: partition)]?.inFlight.remove(offset)
  }

  /// Next offsets to commit that moved since the last call.
  mutating func takeCommittable() -> [(topic: String, partition: Int32, offset: Int64)] {
    var result: [(topic: String, partition: Int32, offset: Int64)] = []
    for (key, state) in partitions {
      let safe = state.inFlight.min() ?? state.nextAfterSeen
      if safe > state.committed {
        partitions[key]!.committed = safe
        result.append((key.topic, key.partition, safe))
      }
    }
    return result
  }

  var inFlightCount: Int { partitions.values.reduce(0) { $0 + $1.inFlight.count } }
}
