import CRMKafka
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Publishes pending outbox rows with the idempotent producer, in id order, in batches, and
/// marks them sent in the same transaction that locked them. A batch the broker refuses while
/// it answers is halved until the failing row is alone; that row's attempts are counted and after
/// `maxAttempts` it is parked (kept with its error, see `OutboxParking`): later rows of its
/// aggregate wait behind it, other aggregates go on. One relay publishes at a time
/// (a transaction-scoped advisory lock): a second replica waits as a standby, so no row is
/// published by two relays at once and each key's order is kept. While the broker is away the
/// batch fails, the transaction rolls back, and the relay retries with backoff — with a new
/// producer: after timed-out batches the idempotent producer bumps its epoch on its own, which
/// a broker may answer with "a newer producer exists" forever (seen with the local broker).
public final class OutboxRelay: Service, Sendable {
  public struct Configuration: Sendable {
    /// Rows per batch. Each batch waits for its delivery reports (tens of milliseconds on the
    /// local broker), so big batches are what makes a backlog drain fast (`bench events`:
    /// 1,000 → ~19,000 events/s, 5,000 → ~25,000).
    public var batchSize: Int
    /// How long an idle relay waits before looking again while it cannot listen for appends;
    /// while it listens (`LISTEN`, see `Outbox.appendedChannel`) it looks every `idleFallback`
    /// too: for an append that raced with its going to sleep, or a notification lost with its
    /// connection.
    public var idleWait: Duration
    public var idleFallback: Duration
    /// Sent rows older than this are deleted.
    public var retention: Duration
    /// Topics the relay creates (if missing) before it publishes, with `topicPartitions` each.
    public var topics: [String]
    public var topicPartitions: Int
    /// Failed attempts (of the row alone, while the broker answers) before a row is parked.
    public var maxAttempts: Int
    /// The longest wait between retries.
    public var maximumBackoff: Duration
    /// How often the relay looks whether the broker still has the topics it published to (a
    /// broker that lost them gets them back, with the kept rows published again).
    public var topicCheckInterval: Duration

    public init(
      batchSize: Int = 5_000,
      idleWait: Duration = .milliseconds(20),
      retention: Duration = .seconds(86_400),
      topics: [String] = [],
      topicPartitions: Int = 8,
      maxAttempts: Int = 5,
      maximumBackoff: Duration = .seconds(5),
      topicCheckInterval: Duration = .seconds(5),
      idleFallback: Duration = .seconds(1)
    ) {
      self.batchSize = batchSize
      self.idleWait = idleWait
      self.idleFallback = idleFallback
      self.retention = retention
      self.topics = topics
      self.topicPartitions = topicPartitions
      self.maxAttempts = maxAttempts
      self.maximumBackoff = maximumBackoff
      self.topicCheckInterval = topicCheckInterval
    }
  }

  /// First half of the advisory lock's key, the same in every replica; the second half is the
  /// schema's hash.
  static let lockKey: Int32 = 0x4F55_5442  // "OUTB"

  let client: PostgresClient
  private let kafka: KafkaConfiguration
  private let producer = Mutex<KafkaProducer?>(nil)
  private let admin = Mutex<KafkaAdmin?>(nil)
  private let topicWatch = Mutex<KafkaTopicWatch?>(nil)
  /// Topics the broker lost whose kept rows are not yet marked for publishing again.
  let lostTopics = Mutex(Set<String>())
  /// Rows per batch now: halved after a failed batch (to find the row that fails), doubled
  /// back after each published one.
  private let batchLimit: Mutex<Int>
  let lossWatch: BrokerLossWatch
  /// Woken by the appends' notifications while `listening`.
  private let wakeup = OutboxWakeup()
  private let listening = Mutex(false)
  let configuration: Configuration
  let logger: Logger

  public init(client: PostgresClient, kafka: KafkaConfiguration, configuration: Configuration = .init(), logger: Logger)
  {
    self.client = client
    self.kafka = kafka
    self.configuration = configuration
    self.logger = logger
    batchLimit = Mutex(max(configuration.batchSize, 1))
    lossWatch = BrokerLossWatch(topics: configuration.topics)
  }

  func currentAdmin() throws -> KafkaAdmin {
    if let existing = admin.withLock({ $0 }) { return existing }
    let made = try KafkaAdmin(configuration: kafka, logger: logger)
    admin.withLock { $0 = made }
    return made
  }

  func currentTopicWatch() throws -> KafkaTopicWatch {
    if let existing = topicWatch.withLock({ $0 }) { return existing }
    let made = KafkaTopicWatch(admin: try currentAdmin(), topics: configuration.topics)
    topicWatch.withLock { $0 = made }
    return made
  }

  /// The current producer, made on first use and after a failed batch.
  private func currentProducer() throws -> KafkaProducer {
    if let existing = producer.withLock({ $0 }) { return existing }
    let made = try KafkaProducer(configuration: kafka, logger: logger)
    producer.withLock { $0 = made }
    return made
  }

  /// Replaces the current producer's client (see `KafkaProducer.renew`): a batch waiting on it
  /// fails at once.
  func renewProducer() async {
    await producer.withLock { $0 }?.renew()
  }

  private func discardProducer() async {
    let old = producer.withLock { producer in
      defer { producer = nil }
      return producer
    }
    await old?.shutdown(timeout: .milliseconds(100))
  }

  public func run() async throws {
    await withTaskGroup(of: Void.self) { group in
      // Apart from the publishing loop: a batch may be waiting on a broker that lost it.
      group.addTask {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
          try? await Task.sleep(for: self.configuration.topicCheckInterval)
          await self.lookForLostTopics()
        }
      }
      group.addTask { await self.listenForAppends() }
      await publishLoop()
      group.cancelAll()
    }
    await discardProducer()  // flushes nothing pending: every batch waited for its reports
  }

  private func publishLoop() async {
    var backoff = Duration.milliseconds(100)
    var lastPrune = ContinuousClock.now
    var topicsExist = configuration.topics.isEmpty
    var checkTopics = false
    // As this relay last set `outbox_relay_state`. A relay that stopped while asleep left it set,
    // and every append then notified (notifying commits serialise with each other): a relay
    // starts by setting it "awake" (a failure here is no worse than before), and stops so.
    var sleeping = (try? await setSleeping(false)) == nil
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      do {
        if !topicsExist {
          try await currentAdmin().createTopics(configuration.topics, partitions: configuration.topicPartitions)
          _ = try await currentTopicWatch().lostTopics()  // the ids of the topics just made
          topicsExist = true
        }
        if checkTopics || !lostTopics.withLock({ $0.isEmpty }) {
          checkTopics = false
          let replayed = try await client.withTransaction(logger: logger) { connection in
            // Under the relays' lock, so that one relay, not each, publishes the lost rows again
            // (a standby forgets the loss: the relay that holds the lock saw it too).
            try await self.lock(connection) ? try await self.recoverLostTopics(on: connection) : nil
          }
          recovered(replayed ?? lostTopics.withLock { Array($0) })
        }
        switch try await publishPass() {
        case .published:
          backoff = .milliseconds(100)
          if sleeping {
            try await setSleeping(false)  // busy: appends need not notify (see `Outbox`)
            sleeping = false
          }
        case .idle:
          backoff = .milliseconds(100)
          let listens = listening.withLock { $0 }
          if listens && !sleeping {
            // From now on appends notify; one more look for those that did not.
            try await setSleeping(true)
            sleeping = true
            continue
          }
          let limit = listens ? configuration.idleFallback : configuration.idleWait
          // A graceful shutdown ends the wait too (the loop then stops).
          await cancelWhenGracefulShutdown { [wakeup] in await wakeup.wait(upTo: limit) }
          try Task.checkCancellation()
        case .narrowed, .recovered:
          await discardProducer()  // a failed batch may leave the idempotent producer in a bad state
          checkTopics = true
        case .rowFailed(let parked):
          await discardProducer()
          checkTopics = true
          if parked {
            backoff = .milliseconds(100)  // the others go on at once
          } else {
            try await Task.sleep(for: backoff)
            backoff = min(backoff * 2, configuration.maximumBackoff)
          }
        }
        if ContinuousClock.now - lastPrune > .seconds(60) {
          try await prune()
          lastPrune = ContinuousClock.now
        }
      } catch {
        if Task.isCancelled { break }  // the cancellation may come wrapped in a transaction error
        logger.warning("outbox relay: \(String(reflecting: error)); retrying in \(backoff) with a new producer")
        await discardProducer()
        checkTopics = true
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, configuration.maximumBackoff)
      }
    }
    if sleeping { try? await setSleeping(false) }
  }

  /// Whether appends notify the relay (`Outbox.appendedChannel`): only while it sleeps.
  private func setSleeping(_ sleeping: Bool) async throws {
    _ = try await client.query("UPDATE outbox_relay_state SET sleeping = \(sleeping)", logger: logger).collect()
  }

  /// Holds a connection listening for appends (`Outbox.appendedChannel`) and wakes the idle
  /// relay at each; listens again with backoff when the connection is lost (the relay then polls
  /// every `idleWait` meanwhile).
  private func listenForAppends() async {
    var backoff = Duration.milliseconds(100)
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      do {
        try await client.withConnection { connection in
          try await connection.listen(on: Outbox.appendedChannel) { notifications in
            listening.withLock { $0 = true }
            wakeup.signal()  // rows appended before LISTEN took effect
            for try await _ in notifications { wakeup.signal() }
          }
        }
        backoff = .milliseconds(100)
      } catch {
        if Task.isCancelled { break }
        logger.debug("outbox relay: listening for appends failed: \(error)")
      }
      listening.withLock { $0 = false }
      wakeup.signal()  // polling again meanwhile
      try? await Task.sleep(for: backoff)
      backoff = min(backoff * 2, configuration.maximumBackoff)
    }
  }

  /// Publishes up to one batch; returns how many rows it published (0: none pending, another
  /// relay holds the lock, or the batch failed and was narrowed or a row's failure recorded).
  @discardableResult
  public func publishBatch() async throws -> Int {
    if case .published(let count) = try await publishPass() { return count }
    return 0
  }

  /// Takes the relays' lock for the transaction of `connection`; false when another relay holds it.
  private func lock(_ connection: PostgresConnection) async throws -> Bool {
    // One lock per outbox table (per schema), so relays of different schemas never wait on each other.
    let locked = try await connection.query(
      "SELECT pg_try_advisory_xact_lock(\(Self.lockKey), hashtext(current_schema()))",
      logger: logger
    )
    .decode(Bool.self).first { _ in true }
    return locked == true
  }

  /// What one pass came to.
  enum Pass: Equatable {
    case published(Int)
    /// Nothing to publish (or another relay publishes).
    case idle
    /// The batch failed while the broker answers: the next pass tries half as many rows, until
    /// the row that fails is alone.
    case narrowed
    /// The oldest publishable row failed alone while the broker answers: its attempt is
    /// recorded (and it is parked after `maxAttempts`).
    case rowFailed(parked: Bool)
    /// The batch failed because the broker had lost its topics: they are back, and the rows
    /// they had are to be published again.
    case recovered
  }

  /// Rows that may go now: unsent, not parked, and not behind a parked row of their aggregate
  /// (same topic and key), so each aggregate's order holds while other aggregates go on.
  func publishPass() async throws -> Pass {
    let limit = batchLimit.withLock { $0 }
    var recoveredTopics: [String] = []
    let pass: Pass = try await client.withTransaction(logger: logger) { connection in
      guard try await lock(connection) else { return .idle }
      var ids: [Int64] = []
      var messages: [KafkaProducerMessage] = []
      let rows = try await connection.query(
        """
        SELECT id, event_id, topic, key, type, envelope FROM outbox o
        WHERE sent_at IS NULL AND parked_at IS NULL
          AND NOT EXISTS (
            SELECT 1 FROM outbox p
            WHERE p.parked_at IS NOT NULL AND p.topic = o.topic AND p.key = o.key AND p.id < o.id
          )
        ORDER BY id LIMIT \(limit)
        """,
        logger: logger
      )
      for try await (id, eventID, topic, key, type, envelope) in rows.decode(
        (Int64, String, String, String, String, ByteBuffer).self
      ) {
        ids.append(id)
        messages.append(
          KafkaProducerMessage(
            topic: topic,
            key: Array(key.utf8),
            value: Array(buffer: envelope),
            headers: [
              KafkaHeader(key: "crm-event-id", string: eventID), KafkaHeader(key: "crm-event-type", string: type),
            ]
          )
        )
      }
      guard !messages.isEmpty else { return .idle }
      let reports: [KafkaDeliveryReport]
      do {
        reports = try await currentProducer().send(batch: messages)
      } catch {
        // A broker that does not answer is an outage, not the rows' fault: the caller retries.
        guard await brokerAnswers() else { throw error }
        // Nor is a broker that lost the topics (it refuses nothing, the records time out).
        recoveredTopics = try await recoverLostTopics(on: connection)
        guard recoveredTopics.isEmpty else { return .recovered }
        // Nor a record that timed out (a broker too busy to store it), or one abandoned with a
        // replaced producer: retried, no attempt counted.
        guard !Self.timedOut(error) && (error as? KafkaError)?.kind != .replaced else { throw error }
        guard ids.count == 1 else { return .narrowed }
        return .rowFailed(parked: try await recordFailure(of: ids[0], error: error, on: connection))
      }
      _ = try await connection.query("UPDATE outbox SET sent_at = now() WHERE id = ANY(\(ids))", logger: logger)
        .collect()
      let regressed = lossWatch.delivered(reports)
      if !regressed.isEmpty { try await replayLost(regressed.sorted(), on: connection) }
      return .published(messages.count)
    }
    recovered(recoveredTopics)
    batchLimit.withLock { batchLimit in
      switch pass {
      case .published: batchLimit = min(batchLimit * 2, configuration.batchSize)
      case .narrowed: batchLimit = max(batchLimit / 2, 1)
      case .idle, .rowFailed, .recovered: break
      }
    }
    return pass
  }

  /// Counts a failed attempt of row `id` and parks it after `maxAttempts`; true when parked.
  private func recordFailure(of id: Int64, error: any Error, on connection: PostgresConnection) async throws -> Bool {
    let text = String(describing: error)
    let parked = try await connection.query(
      """
      UPDATE outbox SET attempts = attempts + 1, last_error = \(text),
        parked_at = CASE WHEN attempts + 1 >= \(configuration.maxAttempts) THEN now() END
      WHERE id = \(id) RETURNING parked_at IS NOT NULL
      """,
      logger: logger
    ).decode(Bool.self).first { _ in true }
    if parked == true {
      logger.error(
        "outbox relay: parked a row it cannot publish; later events of its aggregate wait behind it",
        metadata: ["outbox-id": "\(id)", "error": "\(text)"]
      )
    } else {
      logger.warning("outbox relay: row failed to publish", metadata: ["outbox-id": "\(id)", "error": "\(text)"])
    }
    return parked == true
  }

  /// Whether a record's delivery timed out: librdkafka names no other cause then (its errors
  /// carry only their text here).
  static func timedOut(_ error: any Error) -> Bool {
    (error as? KafkaError)?.message.localizedCaseInsensitiveContains("timed out") == true
  }

  /// Whether a broker answers a metadata request: tells a row the broker refuses from an outage.
  private func brokerAnswers() async -> Bool {
    guard let admin = try? currentAdmin() else { return false }
    return (try? await admin.clusterMetadata(timeout: .milliseconds(1500)).brokers.isEmpty == false) ?? false
  }

  /// Deletes sent rows older than the retention.
  public func prune() async throws {
    let seconds = Double(configuration.retention.components.seconds)
    _ = try await client.query(
      "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => \(seconds))",
      logger: logger
    ).collect()
  }
}
