import CRMContracts
import CRMDatabase
import CRMKafka
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import SwiftProtobuf

/// An event as a consumer's handler sees it.
public struct ReceivedEvent: Sendable {
  public var envelope: Crm_Events_V1_EventEnvelope
  /// The record it came in.
  public var record: KafkaConsumerMessage
  public var topic: String { record.topic }
  public var partition: Int32 { record.partition }
  public var offset: Int64 { record.offset }
  /// The principal that produced it: the service owning its topic (`service:<name>`), or nil
  /// on a topic that is not one of the system's.
  public var producer: String? { EventTopics.producer(of: record.topic).map { "service:\($0)" } }

  public init(envelope: Crm_Events_V1_EventEnvelope, record: KafkaConsumerMessage) {
    self.envelope = envelope
    self.record = record
  }
}

/// A handler's verdict that an event can never be applied (bad content): it goes to the dead
/// letter topic at once. Other errors are classed (`InboxFailure`): data PostgreSQL refuses
/// (SQLSTATE classes 22 and 23) is dead-lettered too, other errors are retried a few times.
public struct EventRejected: Error, Sendable, CustomStringConvertible {
  public var reason: String
  public init(_ reason: String) { self.reason = reason }
  public var description: String { reason }
}

/// What one poll batch came to, reported after the database commit and before the offset
/// commit (for metrics, and for the fault tests that kill a consumer in exactly that gap).
public struct InboxBatchOutcome: Sendable {
  /// Event ids applied by this batch's transaction.
  public var applied: [String] = []
  /// Event ids that had been applied before (duplicates and replays), skipped.
  public var duplicates: [String] = []
  /// Records sent to the dead letter topic.
  public var deadLettered = 0
  /// Failed attempts that were retried.
  public var retried = 0
}

/// Applies events exactly once (DESIGN §5): events are applied and recorded as
/// `(consumer, event_id)` in the same transaction (`ON CONFLICT DO NOTHING` → already applied,
/// skipped), and the Kafka offsets are committed only after the database commit. A poll batch
/// is applied in one transaction; when that fails, its events are applied one by one, and each
/// failure is classed (`InboxFailure`): a record that cannot be decoded or can never apply goes
/// alone to `crm.dlq.<consumer>` (headers `crm-dlq-error`, `crm-dlq-kind`) and the consumer goes
/// on; a passing failure is retried with backoff, and dead-lettered after `Retry.maxAttempts`;
/// a database that cannot be reached is waited for.
public final class InboxConsumer: Service, Sendable {
  /// How a record whose transaction fails is retried.
  public struct Retry: Sendable {
    /// Attempts (the first one included) before a record that keeps failing is dead-lettered.
    public var maxAttempts: Int
    public var firstBackoff: Duration
    public var maximumBackoff: Duration

    public init(
      maxAttempts: Int = 5, firstBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .seconds(5)
    ) {
      self.maxAttempts = maxAttempts
      self.firstBackoff = firstBackoff
      self.maximumBackoff = maximumBackoff
    }
  }

  /// Applies one event in the caller's transaction.
  public typealias Handler = @Sendable (ReceivedEvent, PostgresConnection) async throws -> Void
  /// Applies several fresh events, in record order, in the caller's transaction (a handler that
  /// writes many rows with one statement).
  public typealias BatchHandler = @Sendable ([ReceivedEvent], PostgresConnection) async throws -> Void

  public static let migrations = [
    Migration(
      version: 10_002,
      name: "inbox",
      statements: [
        """
        CREATE TABLE inbox (
          consumer text NOT NULL,
          event_id text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (consumer, event_id)
        )
        """
      ]
    ),
    Migration(
      version: 10_004,
      name: "inbox producer",
      statements: [
        // Who produced each applied event: the service owning its topic (issue 13).
        "ALTER TABLE inbox ADD COLUMN producer text"
      ]
    ),
  ]

  private let name: String
  private let groupID: String
  private let topics: [String]
  private let client: PostgresClient
  private let kafka: KafkaConfiguration
  private let producer: KafkaProducer
  private let handler: BatchHandler
  private let onCommitted: (@Sendable (InboxBatchOutcome) async -> Void)?
  private let retry: Retry
  private let topicPartitions: Int
  private let topicCheckInterval: Duration
  /// How long the broker may hold a fetch of events (see `ServiceConfiguration.eventFetchWait`).
  private let fetchWait: Duration
  private let logger: Logger

  /// `groupID` defaults to `crm.inbox.<name>`; a new group id re-reads the topics from the
  /// start, which the inbox turns into no change at all.
  public convenience init(
    name: String,
    topics: [String],
    client: PostgresClient,
    kafka: KafkaConfiguration,
    deadLetterProducer: KafkaProducer,
    groupID: String? = nil,
    retry: Retry = Retry(),
    topicPartitions: Int = 8,
    topicCheckInterval: Duration = .seconds(5),
    fetchWait: Duration = .milliseconds(20),
    logger: Logger,
    onCommitted: (@Sendable (InboxBatchOutcome) async -> Void)? = nil,
    handler: @escaping Handler
  ) {
    self.init(
      name: name,
      topics: topics,
      client: client,
      kafka: kafka,
      deadLetterProducer: deadLetterProducer,
      groupID: groupID,
      retry: retry,
      topicPartitions: topicPartitions,
      topicCheckInterval: topicCheckInterval,
      fetchWait: fetchWait,
      logger: logger,
      onCommitted: onCommitted,
      batchHandler: { events, connection in
        for event in events { try await handler(event, connection) }
      }
    )
  }

  public init(
    name: String,
    topics: [String],
    client: PostgresClient,
    kafka: KafkaConfiguration,
    deadLetterProducer: KafkaProducer,
    groupID: String? = nil,
    retry: Retry = Retry(),
    topicPartitions: Int = 8,
    topicCheckInterval: Duration = .seconds(5),
    fetchWait: Duration = .milliseconds(20),
    logger: Logger,
    onCommitted: (@Sendable (InboxBatchOutcome) async -> Void)? = nil,
    batchHandler: @escaping BatchHandler
  ) {
    self.fetchWait = fetchWait
    self.name = name
    self.groupID = groupID ?? "crm.inbox.\(name)"
    self.topics = topics
    self.client = client
    self.kafka = kafka
    self.producer = deadLetterProducer
    self.handler = batchHandler
    self.onCommitted = onCommitted
    self.retry = retry
    self.topicPartitions = topicPartitions
    self.topicCheckInterval = topicCheckInterval
    self.logger = logger
  }

  public var deadLetterTopic: String { "crm.dlq.\(name)" }

  /// Consumes until cancelled or shut down. When the broker lost a topic (a broker that came
  /// back empty: the topic is missing, or was made again meanwhile, see `KafkaTopicWatch`), the
  /// consumer creates it (`topicPartitions`), replaces its dead-letter producer (the broker lost
  /// its id too, and would refuse it forever) and joins the group again with a new consumer:
  /// the group, which the broker lost too, reads the topic from its start; the relays publish
  /// the lost events again, and the inbox skips those it had. Not the same consumer subscribed
  /// again: its metadata kept the recreated topic as unknown ("no topics in metadata matched
  /// subscription", joining with none, for minutes; seen with librdkafka 2.8).
  public func run() async throws {
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    try await admin.createTopics([deadLetterTopic], partitions: 1)
    // Subscribed topics that do not exist yet (their publisher has not started) are made now,
    // rather than found missing later, which would make the consumer join its group twice.
    try await admin.createTopics(topics, partitions: topicPartitions)
    let watch = KafkaTopicWatch(admin: admin, topics: topics + [deadLetterTopic])
    _ = try await watch.lostTopics()  // the ids of the topics just made
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      let consumer = try await KafkaConsumer(
        configuration: kafka,
        subscription: .group(id: groupID, topics: topics),
        fetchWait: fetchWait,
        logger: logger
      )
      let lost: Set<String>
      do {
        lost = try await consume(from: consumer, watch: watch)
      } catch {
        await consumer.close()  // leave the group, or its partitions wait for the session timeout
        throw error
      }
      await consumer.close()
      guard !lost.isEmpty else { return }
      try await recover(lost, admin: admin, watch: watch)
    }
  }

  /// Creates the lost topics again and replaces the dead-letter producer; retries while the
  /// broker is away (a topic still missing is found lost again at the next look).
  private func recover(_ lost: Set<String>, admin: KafkaAdmin, watch: KafkaTopicWatch) async throws {
    logger.error(
      "inbox \(name): the broker lost topic \(lost.sorted().joined(separator: ", ")); creating it, joining again")
    await producer.renew()
    var backoff = retry.firstBackoff
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      do {
        let subscribed = topics.filter { lost.contains($0) }
        if !subscribed.isEmpty { try await admin.createTopics(subscribed, partitions: topicPartitions) }
        if lost.contains(deadLetterTopic) { try await admin.createTopics([deadLetterTopic], partitions: 1) }
        return
      } catch {
        logger.warning("inbox \(name): creating lost topics failed, retrying in \(backoff): \(error)")
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, retry.maximumBackoff)
      }
    }
  }

  /// Consumes until stopped (returns []) or until the broker lost topics (returns them).
  private func consume(from consumer: KafkaConsumer, watch: KafkaTopicWatch) async throws -> Set<String> {
    // Offsets go to the broker in the background (a lost commit only brings records again,
    // which the inbox skips); the last ones synchronously when the consumer stops. Only the
    // partitions of the batch just applied: they were this consumer's when it polled, while a
    // partition it held before a rebalance may be another member's now, further on, which an
    // old offset would set back.
    var last: [(topic: String, partition: Int32, offset: Int64)] = []
    var lastTopicCheck = ContinuousClock.now
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      if ContinuousClock.now - lastTopicCheck > topicCheckInterval {
        lastTopicCheck = ContinuousClock.now
        // A short wait: a broker that is away must not hold up a graceful shutdown. Offsets of
        // lost topics are not committed: they counted records of the broker's past.
        if let lost = try? await watch.lostTopics(timeout: .seconds(1)), !lost.isEmpty { return Set(lost) }
      }
      let batch = try await consumer.poll(maximum: 1_000, timeout: .milliseconds(100))
      guard !batch.isEmpty else { continue }
      let outcome: InboxBatchOutcome
      do {
        outcome = try await process(batch)
      } catch is StopRetrying {
        break  // this batch's offsets stay uncommitted: its records come again after the restart
      }
      await onCommitted?(outcome)
      last = Self.nextOffsets(of: batch)
      do {
        try consumer.commitInBackground(last)
      } catch {
        logger.warning("inbox \(name): offset commit failed (records will come again, and be skipped): \(error)")
      }
    }
    try? await consumer.commit(last)
    return []
  }

  /// The next offset to read of each partition in `batch`.
  static func nextOffsets(of batch: [KafkaConsumerMessage]) -> [(topic: String, partition: Int32, offset: Int64)] {
    var next: [String: (topic: String, partition: Int32, offset: Int64)] = [:]
    for record in batch {
      let id = "\(record.topic)/\(record.partition)"
      next[id] = (record.topic, record.partition, max(next[id]?.offset ?? 0, record.offset + 1))
    }
    return Array(next.values)
  }

  /// Applies a poll batch in one transaction; when that fails, record by record.
  private func process(_ records: [KafkaConsumerMessage]) async throws -> InboxBatchOutcome {
    var outcome = InboxBatchOutcome()
    var events: [ReceivedEvent] = []
    for record in records {
      switch decode(record) {
      case .success(let event): events.append(event)
      case .failure(let rejected):
        try await deadLetter(record, kind: "undecodable", error: "undecodable event: \(rejected.reason)")
        outcome.deadLettered += 1
      }
    }
    guard !events.isEmpty else { return outcome }
    do {
      let (applied, duplicates) = try await apply(events)
      outcome.applied = applied
      outcome.duplicates = duplicates
      return outcome
    } catch {
      try Task.checkCancellation()
      logger.debug(
        "inbox \(name): batch of \(events.count) failed (\(InboxFailure(error).reason)); applying one by one")
    }
    for event in events { try await applyAlone(event, into: &outcome) }
    return outcome
  }

  /// Applies one event in its own transaction: retried while its failure may pass, dead-lettered
  /// when it cannot succeed (`InboxFailure`) or is still failing after `retry.maxAttempts`.
  private func applyAlone(_ event: ReceivedEvent, into outcome: inout InboxBatchOutcome) async throws {
    var backoff = retry.firstBackoff
    var attempts = 0
    while true {
      do {
        let (applied, duplicates) = try await apply([event])
        outcome.applied += applied
        outcome.duplicates += duplicates
        return
      } catch {
        try Task.checkCancellation()
        let failure = InboxFailure(error)
        switch failure {
        case .permanent(let reason):
          try await deadLetter(event.record, kind: "permanent", error: reason)
          outcome.deadLettered += 1
          return
        case .transient(let reason):
          attempts += 1
          guard attempts < retry.maxAttempts else {
            try await deadLetter(event.record, kind: "retries-exhausted", error: "failed \(attempts) times: \(reason)")
            outcome.deadLettered += 1
            return
          }
        case .unavailable:
          break  // not the record's fault: no attempt counted
        }
        outcome.retried += 1
        guard !Task.isShuttingDownGracefully else { throw StopRetrying() }
        logger.warning(
          "inbox \(name): applying an event failed; retrying in \(backoff)",
          metadata: ["error": "\(failure.reason)", "event-id": "\(event.envelope.eventID)"]
        )
        try await Task.sleep(for: backoff)
        backoff = min(backoff * 2, retry.maximumBackoff)
      }
    }
  }

  private func decode(_ record: KafkaConsumerMessage) -> Result<ReceivedEvent, EventRejected> {
    do {
      let envelope = try Crm_Events_V1_EventEnvelope(serializedBytes: record.value)
      guard !envelope.eventID.isEmpty else { return .failure(EventRejected("the envelope has no event_id")) }
      guard !envelope.type.isEmpty else { return .failure(EventRejected("the envelope has no type")) }
      if let refusal = EventTopics.refusal(ofType: envelope.type, on: record.topic) {
        return .failure(EventRejected(refusal))
      }
      return .success(ReceivedEvent(envelope: envelope, record: record))
    } catch {
      return .failure(EventRejected("\(error)"))
    }
  }

  /// One transaction: records the events' ids, and hands the ones not seen before (first
  /// copy only) to the handler. Returns the applied and the skipped ids.
  private func apply(_ events: [ReceivedEvent]) async throws -> (applied: [String], duplicates: [String]) {
    try await client.withTransaction(logger: logger) { connection in
      let ids = events.map(\.envelope.eventID)
      let producers = events.map { $0.producer ?? "" }
      let inserted = try await connection.query(
        """
        INSERT INTO inbox (consumer, event_id, producer)
        SELECT \(name), id, NULLIF(producer, '') FROM unnest(\(ids)::text[], \(producers)::text[]) AS e (id, producer)
        ON CONFLICT DO NOTHING RETURNING event_id
        """,
        logger: logger
      )
      var fresh = Set<String>()
      for try await id in inserted.decode(String.self) { fresh.insert(id) }
      var seen = Set<String>()
      var toApply: [ReceivedEvent] = []
      var duplicates: [String] = []
      for event in events {
        let id = event.envelope.eventID
        if fresh.contains(id) && seen.insert(id).inserted {
          toApply.append(event)
        } else {
          duplicates.append(id)
        }
      }
      if !toApply.isEmpty { try await handler(toApply, connection) }
      return (toApply.map(\.envelope.eventID), duplicates)
    }
  }

  /// Sends `record` to the dead letter topic with why (`crm-dlq-error`) and which class of
  /// failure (`crm-dlq-kind`: undecodable, permanent, retries-exhausted). Retried while the
  /// broker is away: the record's offset must not be committed before it is kept somewhere.
  private func deadLetter(_ record: KafkaConsumerMessage, kind: String, error: String) async throws {
    logger.warning(
      "inbox \(name): dead-lettered a record",
      metadata: [
        "error": "\(error)", "kind": "\(kind)", "origin": "\(DeadLetter.origin(of: record))",
      ]
    )
    func letter(cap: Int) -> KafkaProducerMessage {
      DeadLetter.record(for: record, topic: deadLetterTopic, reason: error, kind: kind, consumer: name, cap: cap)
    }
    var message = letter(cap: .max)
    var backoff = retry.firstBackoff
    var attempts = 0
    while true {
      do {
        _ = try await producer.send(message)
        return
      } catch {
        try Task.checkCancellation()
        attempts += 1
        if attempts == retry.maxAttempts && !message.value.isEmpty {
          // Perhaps the record with our headers is over the limit: keep at least the reason and
          // where it was.
          message = letter(cap: 0)
        }
        guard !Task.isShuttingDownGracefully else { throw StopRetrying() }
        logger.warning("inbox \(name): dead letter not stored (\(error)); retrying in \(backoff)")
        try await Task.sleep(for: backoff)
        backoff = min(backoff * 2, retry.maximumBackoff)
      }
    }
  }
}

/// A graceful shutdown came while a record was being retried: the consumer stops without it.
private struct StopRetrying: Error {}
