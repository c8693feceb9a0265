import CRMIdentity
import CRMKafka
import Foundation
import GRPCCore
import Logging
import Synchronization

/// GRPCCore's `ServerTransport` over Kafka: the service's replicas share `crm.rpc.<service>`
/// through one consumer group; each request record becomes one RPC stream and its response
/// one reply record on the caller's reply topic.
///
/// Every request record is checked before a handler sees it (`validate`, with `RPCRecord`'s
/// bounded parsers). A record that fails a check — a missing, repeated or malformed routing
/// header, a deadline more than 60 s past or more than 10 min ahead, bad metadata, a value
/// that is not exactly one framed message — goes to `crm.dlq.rpc.<service>` with the reason
/// in `crm-dlq-error`, and the server goes on. A request whose deadline passed less than 60 s
/// ago is well-formed but late: it is dropped unexecuted and not dead-lettered (its caller
/// already failed with DEADLINE_EXCEEDED; under load this is normal, not an attack).
///
/// Above `maximumConcurrentCalls` in flight the server pauses its partitions and keeps polling
/// (so it stays in its group), and resumes below three quarters of it.
public final class KafkaServerTransport: ServerTransport {
  public typealias Bytes = [UInt8]
  /// The request metadata entry holding the request record's correlation id.
  public static let correlationMetadataKey = "crm-rpc-correlation-id"

  public struct Configuration: Sendable {
    public var kafka: KafkaConfiguration
    /// The service served, e.g. "contacts".
    public var service: String
    /// Partitions of the request topic: the most replicas that can share the load.
    public var requestPartitions: Int
    public var fetchWait: Duration
    /// Calls executing at once; the server pauses its partitions above it.
    public var maximumConcurrentCalls: Int
    /// The largest reply record (value and headers), safely below the broker's ~1 MB record
    /// limit; a larger reply is replaced by a small RESOURCE_EXHAUSTED one, so the caller
    /// learns at once instead of at its deadline.
    public var maximumReplyBytes: Int
    /// Verifies callers' tokens to bind replies to them: a request whose token verifies but
    /// whose reply-to is not one of that principal's reply topics is dead-lettered unanswered,
    /// so no caller can have replies sent to another's topic. (A request without a valid token
    /// is answered UNAUTHENTICATED by the server's interceptor.)
    public var callers: TokenVerifier?
    /// Quiet when idle: after this long without a request (and none in flight) the server stops
    /// fetching and asks for its partitions' end offsets every `idleProbe` instead; nil: never.
    /// A broker that holds every fetch for its whole wait (the local one) is kept busy by a
    /// 2 ms wait whether or not anyone calls; the first call after a quiet spell waits up to
    /// `idleProbe` longer.
    public var idleAfter: Duration?
    public var idleProbe: Duration

    public init(
      kafka: KafkaConfiguration,
      service: String,
      requestPartitions: Int = 8,
      fetchWait: Duration = .milliseconds(2),
      maximumConcurrentCalls: Int = 1024,
      maximumReplyBytes: Int = 900_000,
      callers: TokenVerifier? = nil,
      idleAfter: Duration? = nil,
      idleProbe: Duration = .milliseconds(200)
    ) {
      self.idleAfter = idleAfter
      self.idleProbe = idleProbe
      self.callers = callers
      self.kafka = kafka
      self.service = service
      self.requestPartitions = requestPartitions
      self.fetchWait = fetchWait
      self.maximumConcurrentCalls = max(1, maximumConcurrentCalls)
      self.maximumReplyBytes = maximumReplyBytes
    }

    var requestTopic: String { RPCTopics.requests(service: service) }
    var deadLetterTopic: String { RPCTopics.deadLetters(service: service) }
  }

  /// A request record that passed validation.
  struct Call: Sendable {
    var descriptor: MethodDescriptor
    var correlationID: String
    var replyTo: String
    var deadline: ContinuousClock.Instant
    var metadata: Metadata
    var messages: [[UInt8]]
  }

  private let configuration: Configuration
  private let logger: Logger
  private let shuttingDown = Mutex(false)
  private let offsets = Mutex(OffsetTracker())
  private let assignedPartitions = Mutex(0)
  private let idleNow = Mutex(false)

  /// Whether the server is idle: its partitions paused, probed for requests (`idleAfter`).
  public var isIdle: Bool { idleNow.withLock { $0 } }

  public init(configuration: Configuration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
  }

  public func beginGracefulShutdown() {
    shuttingDown.withLock { $0 = true }
  }

  public func listen(
    streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
  ) async throws {
    // Cancelled instead of shut down gracefully: still leave the group properly, or the broker
    // keeps a dead member whose partitions nobody serves until its session times out.
    try await withTaskCancellationHandler {
      try await serve(streamHandler: streamHandler)
    } onCancel: {
      beginGracefulShutdown()
    }
  }

  private func serve(
    streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
  ) async throws {
    guard let connection = await connect() else { return }  // shut down before the broker came
    logger.info("serving RPC", metadata: ["topic": "\(configuration.requestTopic)"])

    await withDiscardingTaskGroup { group in
      let (watch, admin) = (connection.topicWatch, connection.admin)
      group.addTask { await self.watchTopics(watch, admin) }
      // A broker that comes back empty (the local one keeps topics in memory only) leaves the
      // group's consumer subscribed to a topic that no longer exists: nothing is assigned, ever.
      // Recreate the topics and subscribe again; calls in flight go on.
      while await consume(connection, group: &group, streamHandler: streamHandler) == .topicsLost {
        logger.warning("the request topic was lost (broker restarted empty?): recreating it and joining again")
        assignedPartitions.withLock { $0 = 0 }
        offsets.withLock { $0.retain(only: []) }  // those partitions' offsets went with the topic
        // The broker lost the reply producer's id too: it would refuse its records forever.
        await connection.producer.renew()
        guard await recreateTopics(connection) else { return }
      }
    }
    assignedPartitions.withLock { $0 = 0 }
    let finalAssignment = (try? await connection.consumer.assignment()).map(Set.init) ?? []
    await commit(connection.consumer, holding: finalAssignment, wait: true)
    await connection.consumer.close()
    await connection.producer.shutdown()
  }

  private struct Connection: Sendable {
    var admin: KafkaAdmin
    var topicWatch: KafkaTopicWatch
    var consumer: KafkaConsumer
    var producer: KafkaProducer
  }

  private enum ConsumeEnd {
    case shutDown
    case topicsLost
  }

  /// Set by `watchTopics` when the broker lost the request topic; `connection`
  /// counts connects, so an answer asked for before the latest one is not taken for news.
  private let topics = Mutex((connection: 0, lost: false))

  /// Polls requests until shutdown or until the request topic is gone.
  private func consume(
    _ connection: Connection,
    group: inout DiscardingTaskGroup,
    streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
  ) async -> ConsumeEnd {
    let consumer = connection.consumer
    let producer = connection.producer
    var lastCommit = ContinuousClock.now
    var held: Set<KafkaTopicPartition> = []
    // Back-pressure: paused, with where each partition goes on from (see `KafkaConsumer.places`).
    var paused: [KafkaTopicPartition: Int64]?
    var lastRequest = ContinuousClock.now
    var idle: IdleWatch?
    // What woke an idle server: each partition's end offset then. It stays awake until it has
    // handed those requests out — after a seek the first fetch can take longer than `idleAfter`
    // (offset validation first), and pausing again before it lands would drop it, every time.
    var owed: [KafkaTopicPartition: Int64] = [:]
    // The offset after the last record polled from each held partition.
    var handedOut: [KafkaTopicPartition: Int64] = [:]
    let limit = configuration.maximumConcurrentCalls
    while !shuttingDown.withLock({ $0 }) {
      idleNow.withLock { $0 = idle != nil }
      if topics.withLock({ $0.lost }) {
        if idle != nil { _ = setPaused(false, held, consumer) }
        return .topicsLost
      }
      // Back-pressure: stop fetching, not polling. A loop that stops polling is taken for
      // dead after max.poll.interval.ms and thrown out of its group.
      let inFlight = offsets.withLock { $0.inFlightCount }
      if paused == nil && inFlight >= limit {
        paused = await pause(held, handedOut: handedOut, consumer)
        logger.debug("paused request partitions", metadata: ["in-flight": "\(inFlight)"])
      } else if let places = paused, inFlight <= limit * 3 / 4 {
        if await resume(at: places, consumer) { paused = nil }
      }
      if let watch = idle {
        if ContinuousClock.now - watch.lastProbe >= configuration.idleProbe {
          idle?.lastProbe = ContinuousClock.now
          if let ends = await requestsArrived(since: watch, held, consumer), await resume(at: watch.readUpTo, consumer)
          {
            idle = nil
            lastRequest = ContinuousClock.now
            owed = ends
          }
        }
      } else if let after = configuration.idleAfter, paused == nil, inFlight == 0, !held.isEmpty,
        ContinuousClock.now - lastRequest >= after, Self.handedOut(owed, handedOut)
      {
        if let read = await pause(held, handedOut: handedOut, consumer) {
          logger.debug("idle: request partitions paused", metadata: ["read": "\(read.values.reduce(0, +))"])
          idle = IdleWatch(readUpTo: read, lastProbe: ContinuousClock.now - configuration.idleProbe)
        } else {
          lastRequest = ContinuousClock.now  // could not: try again later
        }
      }
      let batch: [KafkaConsumerMessage]
      do {
        // While paused, poll briefly: a finished call should let fetching resume soon.
        batch = try await consumer.poll(
          maximum: paused != nil ? 64 : min(256, max(1, limit - inFlight)),
          timeout: .milliseconds(paused != nil ? 10 : 100))
      } catch {
        logger.error("reading requests failed: \(error)")
        return .shutDown
      }
      if !batch.isEmpty { lastRequest = ContinuousClock.now }
      for record in batch {
        let partition = KafkaTopicPartition(topic: record.topic, partition: record.partition)
        handedOut[partition] = max(handedOut[partition] ?? 0, record.offset + 1)
        offsets.withLock { $0.started(topic: record.topic, partition: record.partition, offset: record.offset) }
        switch Self.validate(record) {
        case .failure(let problem):
          group.addTask {  // off the loop: the loop must not wait for the broker's ack
            await self.deadLetter(record, problem: problem, producer: producer)
            self.markDone(record)
          }
        case .success(let call) where ContinuousClock.now >= call.deadline:
          logger.debug("dropped an expired request", metadata: ["method": "\(call.descriptor)"])
          markDone(record)
        case .success(let call):
          group.addTask {
            if let problem = await self.foreignReplyTopic(call) {
              await self.deadLetter(record, problem: problem, producer: producer)
            } else {
              await self.serve(call, streamHandler: streamHandler, producer: producer)
            }
            self.markDone(record)
          }
        }
      }
      if ContinuousClock.now - lastCommit > .milliseconds(50) {
        // The assignment right before the commit: offsets of partitions revoked since are
        // not ours to commit any more.
        if let current = try? await consumer.assignment() {
          let now = Set(current)
          if now != held {
            logger.debug("request partitions now \(now.map(\.description).sorted())")
            held = now
            // A partition given back may have gone on elsewhere meanwhile: where it is is
            // librdkafka's to say again.
            handedOut = handedOut.filter { now.contains($0.key) }
            owed = owed.filter { now.contains($0.key) }
            assignedPartitions.withLock { $0 = now.count }
            // A (re)assigned partition fetches (from the group's committed offset) unless paused
            // again; an idle server wakes, what it read of the new partitions being unknown.
            if paused != nil {
              paused = await pause(held, handedOut: handedOut, consumer)
              if paused == nil { _ = setPaused(false, held, consumer) }
            }
            if idle != nil {
              _ = setPaused(false, held, consumer)
              idle = nil
              lastRequest = ContinuousClock.now
            }
          }
        }
        await commit(consumer, holding: held)
        lastCommit = ContinuousClock.now
      }
    }
    return .shutDown
  }

  /// An idle server's partitions: paused, with the offset up to which each was read (a request
  /// fetched but not handed out before the pause lies past it, so the first probe finds it).
  private struct IdleWatch {
    var readUpTo: [KafkaTopicPartition: Int64]
    var lastProbe: ContinuousClock.Instant
  }

  /// The partitions' end offsets when one passed what was read; nil when none did or the broker
  /// does not answer (it could serve no fetch either; the next probe asks again, and a broker
  /// that came back empty is noticed by the topic watch).
  private func requestsArrived(
    since watch: IdleWatch, _ held: Set<KafkaTopicPartition>, _ consumer: KafkaConsumer
  ) async -> [KafkaTopicPartition: Int64]? {
    // Half a second: a broker that does not answer by then is asked again at the next probe, and
    // a longer wait only holds a shutdown (SIGTERM with the broker gone) for its whole length.
    guard let ends = try? await consumer.endOffsets(Array(held), timeout: .milliseconds(500)) else { return nil }
    let arrived = held.contains { (ends[$0] ?? .max) > (watch.readUpTo[$0] ?? 0) }
    return arrived ? ends.filter { $0.value > (watch.readUpTo[$0.key] ?? 0) } : nil
  }

  /// Whether every request that woke the server (`owed`: offsets to reach) was handed out.
  static func handedOut(_ owed: [KafkaTopicPartition: Int64], _ handedOut: [KafkaTopicPartition: Int64]) -> Bool {
    owed.allSatisfy { (handedOut[$0.key] ?? 0) >= $0.value }
  }

  /// Creates the topics again and resubscribes, retrying while the broker is away; false when
  /// shut down first. (A new consumer would have to wait for the old member to leave a group
  /// the broker half forgot: seen taking over 30 s.)
  private func recreateTopics(_ connection: Connection) async -> Bool {
    var backoff = Duration.milliseconds(200)
    while !shuttingDown.withLock({ $0 }) {
      do {
        try await connection.admin.createTopics(
          [configuration.requestTopic], partitions: configuration.requestPartitions)
        try await connection.admin.createTopics([configuration.deadLetterTopic], partitions: 1)
        try connection.consumer.resubscribe()
        topics.withLock { $0 = (connection: $0.connection + 1, lost: false) }
        return true
      } catch {
        logger.warning("recreating the request topic failed, retrying in \(backoff): \(error)")
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(5))
      }
    }
    return false
  }

  /// Asks the broker every second whether it lost the request or dead-letter topic (see
  /// `KafkaTopicWatch`: missing, or made again meanwhile, e.g. by another replica): a lost
  /// dead-letter topic is recreated here, a lost request topic ends the consuming loop (see
  /// `serve`). A broker that does not answer proves nothing.
  private func watchTopics(_ watch: KafkaTopicWatch, _ admin: KafkaAdmin) async {
    while !shuttingDown.withLock({ $0 }) {
      try? await Task.sleep(for: .seconds(1))
      let asked = topics.withLock { $0 }
      guard !asked.lost, let lost = try? await watch.lostTopics() else { continue }
      if lost.contains(configuration.deadLetterTopic) {
        try? await admin.createTopics([configuration.deadLetterTopic], partitions: 1)
      }
      if lost.contains(configuration.requestTopic) {
        topics.withLock { if $0.connection == asked.connection { $0.lost = true } }
      }
    }
  }

  /// Pauses or resumes `partitions`; true when librdkafka took it.
  /// Pauses the partitions once their places are known (`KafkaConsumer.places`), returning
  /// them; nil, fetching on, when the broker does not say.
  private func pause(
    _ partitions: Set<KafkaTopicPartition>, handedOut: [KafkaTopicPartition: Int64], _ consumer: KafkaConsumer
  ) async -> [KafkaTopicPartition: Int64]? {
    do {
      let places = try await consumer.places(of: Array(partitions), handedOut: handedOut)
      try consumer.pause(Array(partitions))
      return places
    } catch {
      logger.warning("pausing request partitions failed: \(error)")
      _ = setPaused(false, partitions, consumer)
      return nil
    }
  }

  /// Resumes paused partitions from their places; false, still paused, when the seek failed
  /// (the loop tries again).
  private func resume(at places: [KafkaTopicPartition: Int64], _ consumer: KafkaConsumer) async -> Bool {
    do {
      try await consumer.resume(at: places)
      return true
    } catch {
      logger.warning("resuming request partitions failed, trying again: \(error)")
      return false
    }
  }

  private func setPaused(_ pause: Bool, _ partitions: Set<KafkaTopicPartition>, _ consumer: KafkaConsumer) -> Bool {
    do {
      if pause { try consumer.pause(Array(partitions)) } else { try consumer.resume(Array(partitions)) }
      return true
    } catch {
      logger.warning("\(pause ? "pausing" : "resuming") request partitions failed: \(error)")
      return false
    }
  }

  /// Creates the topics, joins the group and opens the reply producer, retrying while the broker
  /// is away (a service may start before it); nil when shut down first.
  private func connect() async -> Connection? {
    var backoff = Duration.milliseconds(500)
    while !shuttingDown.withLock({ $0 }) {
      do {
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        try await admin.createTopics([configuration.requestTopic], partitions: configuration.requestPartitions)
        try await admin.createTopics([configuration.deadLetterTopic], partitions: 1)
        // The local broker answers a join only after the rebalance timeout (max.poll.interval)
        // runs down to about half: keep it short so a replica serves within seconds.
        var requestSettings = configuration.kafka
        requestSettings.properties.merge(["max.poll.interval.ms": "6000"]) { current, _ in current }
        let consumer = try await KafkaConsumer(
          configuration: requestSettings,
          subscription: .group(id: configuration.requestTopic, topics: [configuration.requestTopic]),
          fetchWait: configuration.fetchWait,
          logger: logger
        )
        let watch = KafkaTopicWatch(admin: admin, topics: [configuration.requestTopic, configuration.deadLetterTopic])
        _ = try await watch.lostTopics()  // the ids of the topics just made
        return Connection(admin: admin, topicWatch: watch, consumer: consumer, producer: try makeReplyProducer())
      } catch {
        logger.warning("RPC server not started yet, retrying in \(backoff): \(error)")
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(5))
      }
    }
    return nil
  }

  private func makeReplyProducer() throws -> KafkaProducer {
    var replySettings = configuration.kafka
    // Batch concurrent replies (see the client's request producer).
    replySettings.properties.merge(["linger.ms": "2", "sticky.partitioning.linger.ms": "0"]) { current, _ in current }
    return try KafkaProducer(configuration: replySettings, logger: logger)
  }

  /// True while the group has given this replica request partitions to serve.
  public var isServing: Bool { assignedPartitions.withLock { $0 } > 0 }

  private func markDone(_ record: KafkaConsumerMessage) {
    offsets.withLock { $0.finished(topic: record.topic, partition: record.partition, offset: record.offset) }
  }

  /// In the serving loop the commit must not wait for the broker (`wait: false`); at the end it does.
  private func commit(_ consumer: KafkaConsumer, holding held: Set<KafkaTopicPartition>, wait: Bool = false) async {
    let committable = offsets.withLock { $0.takeCommittable(holding: held) }
    do {
      if wait {
        try await consumer.commit(committable)
      } else {
        try consumer.commitInBackground(committable)
      }
    } catch {
      // During a rebalance: the new owner may see these requests again; expired ones it drops.
      logger.warning("offset commit failed: \(error)")
    }
  }

  typealias Problem = RPCRecord.WireProblem

  /// Checks a request record (see the type's comment); `now` in epoch milliseconds.
  static func validate(_ record: KafkaConsumerMessage, now: Int64 = RPCRecord.epochMilliseconds()) -> Result<
    Call, Problem
  > {
    do throws(Problem) {
      let request = try RPCRecord.checkedRequest(record, now: now)
      // The record's correlation id is the same when the record is delivered again: the handler
      // may use it as the request's idempotency key. Only the transport sets it.
      var metadata = request.metadata
      metadata.removeAllValues(forKey: Self.correlationMetadataKey)
      metadata.addString(request.correlationID, forKey: Self.correlationMetadataKey)
      return .success(
        Call(
          descriptor: request.descriptor,
          correlationID: request.correlationID,
          replyTo: request.replyTo,
          // |remaining| ≤ 10 min: no overflow
          deadline: ContinuousClock.now + .milliseconds(request.remainingMilliseconds),
          metadata: metadata,
          messages: request.messages
        )
      )
    } catch {
      return .failure(error)
    }
  }

  /// Why the call's reply may not go where it asks: its token names a principal whose reply
  /// topics (`Principal.replyTopicPrefix`) do not include the reply-to. Nil when it may, or when
  /// the token does not verify (the interceptor answers that).
  private func foreignReplyTopic(_ call: Call) async -> Problem? {
    guard let verifier = configuration.callers, let token = TokenMetadata.token(in: call.metadata),
      let principal = try? await verifier.principal(from: token),
      !call.replyTo.hasPrefix(principal.replyTopicPrefix)
    else { return nil }
    return Problem(
      description:
        "header \(RPCRecord.replyTo) names \(RPCRecord.quoted(Array(call.replyTo.utf8))), not a reply topic of "
        + "\(principal) (\(principal.replyTopicPrefix)…): not answered")
  }

  /// Sends the record to the dead-letter topic with its reason; retries while the broker is
  /// away for a while, since the record's offset is committed once this returns.
  private func deadLetter(_ record: KafkaConsumerMessage, problem: Problem, producer: KafkaProducer) async {
    let origin = DeadLetter.origin(of: record)
    logger.warning("dead-lettered a request record", metadata: ["error": "\(problem)", "origin": "\(origin)"])
    let letter = DeadLetter.record(
      for: record, topic: configuration.deadLetterTopic, reason: problem.description,
      cap: configuration.maximumReplyBytes)
    for attempt in 1...5 {
      do {
        _ = try await producer.send(letter)
        return
      } catch {
        logger.error("dead-lettering failed (attempt \(attempt) of 5): \(error)", metadata: ["origin": "\(origin)"])
        try? await Task.sleep(for: .milliseconds(200 * attempt))
      }
    }
  }

  /// Runs one call through GRPCCore's handler and sends its reply.
  private func serve(
    _ call: Call,
    streamHandler: @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void,
    producer: KafkaProducer
  ) async {
    let inbound = AsyncThrowingStream.makeStream(of: RPCRequestPart<Bytes>.self)
    inbound.continuation.yield(.metadata(call.metadata))
    for message in call.messages { inbound.continuation.yield(.message(message)) }
    inbound.continuation.finish()
    let outbound = AsyncThrowingStream.makeStream(of: RPCResponsePart<Bytes>.self)
    let stream = RPCStream(
      descriptor: call.descriptor,
      inbound: RPCAsyncSequence(wrapping: inbound.stream),
      outbound: RPCWriter.Closable(wrapping: StreamWriter(continuation: outbound.continuation))
    )
    await withServerContextRPCCancellationHandle { handle in
      let context = ServerContext(
        descriptor: call.descriptor,
        remotePeer: "kafka:\(call.replyTo)",
        localPeer: "kafka:\(configuration.requestTopic)",
        cancellation: handle
      )
      await withTaskGroup(of: Void.self) { group in
        group.addTask {  // the caller stops waiting at its deadline: so does the handler
          do { try await Task.sleep(until: call.deadline) } catch { return }
          handle.cancel()
        }
        await streamHandler(stream, context)
        group.cancelAll()
      }
    }
    outbound.continuation.finish()

    var initial = Metadata()
    var messages: [[UInt8]] = []
    var status = Status(code: .internalError, message: "the handler ended without a status")
    var trailers = Metadata()
    do {
      for try await part in outbound.stream {
        switch part {
        case .metadata(let metadata): initial.add(contentsOf: metadata)
        case .message(let message): messages.append(message)
        case .status(let final, let metadata):
          status = final
          trailers = metadata
        }
      }
    } catch {
      status = Status(code: .internalError, message: "the handler failed: \(error)")
    }
    guard ContinuousClock.now < call.deadline else {
      logger.debug("reply after the caller's deadline not sent", metadata: ["method": "\(call.descriptor)"])
      return
    }
    var reply = replyRecord(call, status: status, initial: initial, trailers: trailers, messages: messages)
    let size = reply.approximateSize
    if size > configuration.maximumReplyBytes {
      logger.warning("reply too large, RESOURCE_EXHAUSTED sent instead", metadata: ["method": "\(call.descriptor)"])
      reply = tooLarge(call, size: "\(size) bytes")
    }
    do {
      _ = try await producer.send(reply)
    } catch let error as KafkaError where error.kind == .recordTooLarge {
      // The broker's limit is lower than `maximumReplyBytes`: still tell the caller at once.
      logger.warning("reply refused as too large: \(error)", metadata: ["method": "\(call.descriptor)"])
      _ = try? await producer.send(tooLarge(call, size: "more than the broker accepts"))
    } catch {
      logger.error("reply not sent: \(error)", metadata: ["method": "\(call.descriptor)"])
    }
  }

  private func replyRecord(
    _ call: Call, status: Status, initial: Metadata = [:], trailers: Metadata = [:], messages: [[UInt8]] = []
  ) -> KafkaProducerMessage {
    RPCRecord.reply(
      topic: call.replyTo, correlationID: call.correlationID, status: status, initial: initial, trailers: trailers,
      messages: messages)
  }

  private func tooLarge(_ call: Call, size: String) -> KafkaProducerMessage {
    replyRecord(
      call,
      status: Status(
        code: .resourceExhausted,
        message: "the reply of \(call.descriptor) (\(size)) exceeds the Kafka transport's limit of "
          + "\(configuration.maximumReplyBytes) bytes"
      )
    )
  }
}
