import CRdKafka
import Foundation
import Logging
import Synchronization

/// A consumer with manual commits: offsets are committed (as offset + 1) only when the caller
/// says a record is processed. Polls block on librdkafka's queue off the cooperative pool, so a
/// record is handed over as soon as it is fetched (no poll-then-sleep loop).
public final class KafkaConsumer: Sendable {
  public enum StartOffset: Sendable, Hashable {
    case beginning
    /// The partition's current end: only records produced from now on.
    case highWatermark
    case offset(Int64)
  }

  public enum Subscription: Sendable {
    /// Join group `id`; the group spreads the topics' partitions over its members.
    case group(id: String, topics: [String])
    /// Read these partitions directly, outside any group: no rebalances, no commits.
    case partitions([(topic: String, partition: Int32, start: StartOffset)])
  }

  private let handle: RDKafkaHandle
  private let closed = Mutex(false)
  private let logger: Logger
  public let subscription: Subscription

  /// `fetchWait`: how long the broker may hold a fetch. A broker that answers only when the
  /// wait runs out (the local one does) turns it into latency: keep it small for RPC.
  public init(
    configuration: KafkaConfiguration,
    subscription: Subscription,
    fetchWait: Duration = .milliseconds(100),
    logger: Logger
  ) async throws {
    let groupID: String =
      switch subscription {
      case .group(let id, _): id
      case .partitions: "crm.direct.\(UUID().uuidString.lowercased())"  // required by librdkafka, never joined
      }
    let defaults = [
      "group.id": groupID,
      "enable.auto.commit": "false",
      "enable.auto.offset.store": "false",
      "auto.offset.reset": "earliest",
      "enable.partition.eof": "false",
      "fetch.wait.max.ms": "\(fetchWait.wholeMilliseconds)",
      "fetch.error.backoff.ms": "20",
      "fetch.queue.backoff.ms": "1",
      "session.timeout.ms": "6000",
      "max.poll.interval.ms": "30000",
      "heartbeat.interval.ms": "1000",
    ]
    let handle = try RDKafkaHandle(
      kind: .consumer,
      properties: configuration.librdkafkaProperties(overriding: defaults),
      logger: logger
    )
    handle.redirectToConsumerQueue()
    switch subscription {
    case .group(_, let topics):
      try handle.subscribe(topics)
    case .partitions(let partitions):
      let starts = try await handle.blocking {
        try partitions.map { p in
          let offset: Int64 =
            switch p.start {
            case .beginning: Int64(RD_KAFKA_OFFSET_BEGINNING)
            case .offset(let offset): offset
            // An explicit offset, not OFFSET_END: END is resolved lazily, after records sent meanwhile.
            case .highWatermark: try handle.highWatermark(topic: p.topic, partition: p.partition, timeout: .seconds(5))
            }
          return (topic: p.topic, partition: p.partition, offset: offset)
        }
      }
      try handle.assign(starts)
    }
    self.handle = handle
    self.subscription = subscription
    self.logger = logger
  }

  /// Waits up to `timeout` for records; returns at most `maximum`, possibly none.
  public func poll(maximum: Int = 500, timeout: Duration = .milliseconds(100)) async throws -> [KafkaConsumerMessage] {
    guard !closed.withLock({ $0 }) else { throw KafkaError(.shutDown, "the consumer is closed") }
    let handle = self.handle
    return try await handle.blocking { handle.poll(maximum: maximum, timeout: timeout) }
  }

  /// Marks `message` and everything before it in its partition as processed.
  public func commit(_ message: KafkaConsumerMessage) async throws {
    try await commit([(message.topic, message.partition, message.offset + 1)])
  }

  /// Commits next-offsets to read, per partition. Fails during a rebalance: the records then
  /// come again to whoever owns the partition, which idempotent handlers absorb.
  public func commit(_ nextOffsets: [(topic: String, partition: Int32, offset: Int64)]) async throws {
    guard !nextOffsets.isEmpty else { return }
    let handle = self.handle
    try await handle.blocking { try handle.commit(nextOffsets) }
  }

  /// Hands the commit to librdkafka and returns at once, for loops that must not stall on the
  /// broker's answer; a failure is logged by librdkafka, and the records may come again.
  public func commitInBackground(_ nextOffsets: [(topic: String, partition: Int32, offset: Int64)]) throws {
    guard !nextOffsets.isEmpty else { return }
    try handle.commit(nextOffsets, wait: false)
  }

  /// How many partitions the group gave this consumer (for direct assignment: how many it reads).
  public func assignedPartitionCount() async throws -> Int {
    let handle = self.handle
    return try await handle.blocking { try handle.assignmentCount() }
  }

  /// Subscribes to the group's topics again (a group subscription only): after the broker lost
  /// and recreated them, librdkafka would otherwise wait for its next periodic metadata refresh
  /// (minutes) to see they exist again.
  public func resubscribe() throws {
    guard case .group(_, let topics) = subscription else { return }
    try handle.resubscribe(topics)
  }

  /// The partitions the group gave this consumer (for direct assignment: the ones it reads).
  public func assignment() async throws -> [KafkaTopicPartition] {
    let handle = self.handle
    return try await handle.blocking { try handle.assignment() }
  }

  /// Stops fetching from `partitions` while staying in the group: keep polling (it serves the
  /// group's heartbeats and rebalances, and max.poll.interval.ms keeps counting polls), then
  /// `resume`. Records of a paused partition already fetched are not handed out; they are
  /// fetched again after `resume`.
  public func pause(_ partitions: [KafkaTopicPartition]) throws {
    try handle.setPaused(true, partitions)
  }

  /// Each partition's end offset (the offset its next record gets), asked of the broker.
  public func endOffsets(_ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(2)) async throws
    -> [KafkaTopicPartition: Int64]
  {
    let handle = self.handle
    return try await handle.blocking { try handle.endOffsets(partitions, timeout: timeout) }
  }

  /// Where each partition goes on from after a pause (what was read of it): `handedOut` (the
  /// caller's count: the offset after the last record it polled from a partition), else as
  /// `RDKafkaHandle.readPositions` finds it; throws unless every partition has one. Take it
  /// before `pause`, and `resume(at:)` with it: librdkafka resumes a partition from the
  /// record after the last one handed out only while it knows that one (a seek forgets it),
  /// else from wherever its fetcher got to — past the records fetched and dropped at the
  /// pause, which would then never be handed out (a request lost until the next rebalance).
  public func places(of partitions: [KafkaTopicPartition], handedOut: [KafkaTopicPartition: Int64]) async throws
    -> [KafkaTopicPartition: Int64]
  {
    let handle = self.handle
    return try await handle.blocking {
      let places = try handle.readPositions(partitions, known: handedOut, timeout: .seconds(5))
      guard places.count == Set(partitions).count else {
        throw KafkaError(.broker, "no place known for \(Set(partitions).subtracting(places.keys).map(\.description))")
      }
      return places
    }
  }

  /// Fetches again from paused partitions, each from its place (`places(of:handedOut:)`): a
  /// partition librdkafka would resume from elsewhere is sought there first (only those: a seek
  /// makes librdkafka forget its position). When it throws the partitions stay paused: try
  /// again (resuming without the seek could skip records).
  public func resume(at places: [KafkaTopicPartition: Int64]) async throws {
    let handle = self.handle
    try await handle.blocking {
      let positions = try handle.positions(Array(places.keys))
      try handle.seek(places.filter { positions[$0.key] != $0.value }, timeout: .seconds(2))
    }
    try handle.setPaused(false, Array(places.keys))
  }

  /// Fetches again from partitions that `pause` stopped.
  public func resume(_ partitions: [KafkaTopicPartition]) throws {
    try handle.setPaused(false, partitions)
  }

  /// Leaves the group and stops fetching; further polls throw.
  public func close() async {
    let wasClosed = closed.withLock { closed in
      defer { closed = true }
      return closed
    }
    guard !wasClosed else { return }
    let handle = self.handle
    _ = try? await handle.blocking { handle.closeConsumer() }
  }

  /// Records one by one until the consumer is closed or the task cancelled.
  public var messages: Messages { Messages(consumer: self) }

  public struct Messages: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerMessage
    let consumer: KafkaConsumer

    public func makeAsyncIterator() -> Iterator { Iterator(consumer: consumer) }

    public struct Iterator: AsyncIteratorProtocol {
      let consumer: KafkaConsumer
      var buffer: ArraySlice<KafkaConsumerMessage> = []

      public mutating func next() async throws -> KafkaConsumerMessage? {
        while buffer.isEmpty {
          if Task.isCancelled || consumer.closed.withLock({ $0 }) { return nil }
          do {
            buffer = try await consumer.poll()[...]
          } catch let error as KafkaError where error.kind == .shutDown {
            return nil
          }
        }
        return buffer.popFirst()
      }
    }
  }
}
