import CRMKafka

/// Which request offsets may be committed while calls finish out of order: per partition, the
/// lowest offset still in flight (or one past the highest seen when none is), so a crash never
/// skips a request that was not answered.
///
/// Only partitions the server still holds are committed: after a rebalance the new owner
/// commits its own progress, and a late commit from the old owner (a call that finished after
/// the partition moved) would move the group's offset back and make the new owner run those
/// requests again.
struct OffsetTracker {
  private struct Partition {
    var inFlight: Set<Int64> = []
    var nextAfterSeen: Int64 = 0
    var committed: Int64 = -1
  }

  private var partitions: [KafkaTopicPartition: Partition] = [:]
  /// Calls started and not finished, also of partitions forgotten since (they still run).
  private(set) var inFlightCount = 0

  mutating func started(topic: String, partition: Int32, offset: Int64) {
    inFlightCount += 1
    let key = KafkaTopicPartition(topic: topic, partition: partition)
    partitions[key, default: Partition()].inFlight.insert(offset)
    // Offsets come from the broker; an Int64.max offset must not trap the next-offset sum.
    let (next, overflow) = offset.addingReportingOverflow(1)
    partitions[key]!.nextAfterSeen = max(partitions[key]!.nextAfterSeen, overflow ? offset : next)
  }

  mutating func finished(topic: String, partition: Int32, offset: Int64) {
    inFlightCount -= 1
    partitions[KafkaTopicPartition(topic: topic, partition: partition)]?.inFlight.remove(offset)
  }

  /// Forgets the partitions not in `held` (revoked by a rebalance): their calls may still
  /// finish, but their offsets belong to the new owner now.
  mutating func retain(only held: Set<KafkaTopicPartition>) {
    partitions = partitions.filter { held.contains($0.key) }
  }

  /// Next offsets to commit that moved since the last call, of the partitions in `held` only.
  mutating func takeCommittable(holding held: Set<KafkaTopicPartition>) -> [(
    topic: String, partition: Int32, offset: Int64
  )] {
    retain(only: held)
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
}
