import CRMKafka
import Synchronization

/// Notices a broker that lost records it had stored (the local broker keeps them in memory and
/// comes back from a restart empty): a topic the relay published to is gone, or a partition's
/// offsets went backwards (a broker that recreated the topic on its own).
final class BrokerLossWatch: Sendable {
  private struct Partition: Hashable {
    var topic: String
    var partition: Int32
  }

  private struct State {
    /// Topics the relay was configured with or published to.
    var topics: Set<String>
    /// The highest offset each partition took, as delivery reports said.
    var highest: [Partition: Int64] = [:]
  }

  private let state: Mutex<State>

  init(topics: [String]) {
    state = Mutex(State(topics: Set(topics)))
  }

  var topics: Set<String> { state.withLock { $0.topics } }

  /// Notes where a batch went; returns the topics whose offsets went backwards.
  func delivered(_ reports: [KafkaDeliveryReport]) -> Set<String> {
    var lowest: [Partition: Int64] = [:]
    var highest: [Partition: Int64] = [:]
    for report in reports {
      let key = Partition(topic: report.topic, partition: report.partition)
      lowest[key] = min(lowest[key] ?? report.offset, report.offset)
      highest[key] = max(highest[key] ?? report.offset, report.offset)
    }
    return state.withLock { state in
      var regressed = Set<String>()
      for (key, low) in lowest {
        state.topics.insert(key.topic)
        if let before = state.highest[key], low <= before { regressed.insert(key.topic) }
      }
      for (key, high) in highest { state.highest[key] = high }
      return regressed
    }
  }

  /// Forgets the offsets of `topics` (they start again from 0 on the recreated topics).
  func forget(_ topics: some Sequence<String>) {
    let lost = Set(topics)
    state.withLock { state in state.highest = state.highest.filter { !lost.contains($0.key.topic) } }
  }
}
