import CRMIdentity
import CRMKafka
import Foundation
import GRPCCore
import Logging
import Synchronization

/// GRPCCore's `ClientTransport` over Kafka: each call is one request record on
/// `crm.rpc.<service>` and one reply record on this instance's own reply topic, matched by
/// correlation id. The reply partition is assigned directly from its high watermark before any
/// request goes out, so no reply is lost to a late assignment. A call without a reply by its
/// deadline fails with DEADLINE_EXCEEDED — the caller never hangs on a dead server.
public final class KafkaClientTransport: ClientTransport {
  public typealias Bytes = [UInt8]

  public struct Configuration: Sendable {
    public var kafka: KafkaConfiguration
    /// The service called, e.g. "contacts".
    public var service: String
    /// Unique per client process: names the reply topic.
    public var instanceID: String
    /// How long the broker may hold a reply fetch (the local broker's latency floor).
    public var fetchWait: Duration
    /// Deadline of calls that set no timeout.
    public var defaultTimeout: Duration
    /// Partitions of the reply topic (servers pick one at random). One is fastest on the local
    /// broker: each partition adds fetch work (measured: 1,700 calls/s with 4, 2,700 with 1).
    public var replyPartitions: Int
    /// The largest request record; a larger request fails at once with RESOURCE_EXHAUSTED
    /// instead of being refused by the broker.
    public var maximumRequestBytes: Int

    public init(
      kafka: KafkaConfiguration,
      service: String,
      instanceID: String = "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8))",
      fetchWait: Duration = .milliseconds(2),
      defaultTimeout: Duration = .seconds(30),
      replyPartitions: Int = 1,
      maximumRequestBytes: Int = 900_000
    ) {
      self.kafka = kafka
      self.service = service
      self.instanceID = instanceID.lowercased()
      self.fetchWait = fetchWait
      self.defaultTimeout = defaultTimeout
      self.replyPartitions = replyPartitions
      self.maximumRequestBytes = maximumRequestBytes
    }

    /// Calls made as `caller`: the reply topic is one of the caller's (servers answer only
    /// there, see `KafkaServerTransport.Configuration.callers`).
    public init(
      kafka: KafkaConfiguration,
      service: String,
      caller: Principal,
      fetchWait: Duration = .milliseconds(2),
      defaultTimeout: Duration = .seconds(30),
      replyPartitions: Int = 1,
      maximumRequestBytes: Int = 900_000
    ) {
      self.init(
        kafka: kafka, service: service,
        instanceID: Self.instanceID(of: caller),
        fetchWait: fetchWait, defaultTimeout: defaultTimeout, replyPartitions: replyPartitions,
        maximumRequestBytes: maximumRequestBytes)
    }

    /// A new instance id whose reply topic is one of `caller`'s: `<role>.<subject>.<host>-<pid>-<random>`.
    public static func instanceID(of caller: Principal) -> String {
      let prefix = caller.replyTopicPrefix.dropFirst(RPCTopics.replies(instance: "").count)
      return "\(prefix)\(ProcessInfo.processInfo.hostName)-\(getpid())-\(UUID().uuidString.prefix(8))"
    }

    var requestTopic: String { RPCTopics.requests(service: service) }
    var replyTopic: String { RPCTopics.replies(instance: instanceID) }
  }

  private enum State {
    case idle
    case connected(KafkaProducer)
    case closed
  }

  public let retryThrottle: RetryThrottle? = nil
  private let configuration: Configuration
  private let logger: Logger
  private let pending = PendingReplies()
  private let state = Mutex(State.idle)
  private let shuttingDown = Mutex(false)

  public init(configuration: Configuration, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
  }

  public func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? { nil }

  /// Sets up the reply topic, reader and producer, then reads replies until shutdown.
  public func connect() async throws {
    let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
    let replyTopicWatch = KafkaTopicWatch(admin: admin, topics: [configuration.replyTopic])
    let producer: KafkaProducer
    var replies: KafkaConsumer
    do {
      replies = try await openReplyTopic(admin, from: .highWatermark)
      _ = try await replyTopicWatch.lostTopics()  // the id of the topic just made
      producer = try makeRequestProducer()
    } catch {
      close(with: nil)
      throw RPCError(code: .unavailable, message: "cannot reach the broker for \(configuration.service): \(error)")
    }
    close(with: producer)  // wakes calls that waited for the connection

    var lastTopicCheck = ContinuousClock.now
    while !shuttingDown.withLock({ $0 }) {
      if ContinuousClock.now - lastTopicCheck > .seconds(1) {
        lastTopicCheck = ContinuousClock.now
        if let reopened = await reopenReplyTopicIfLost(replyTopicWatch, admin) {
          await replies.close()
          replies = reopened
          // The broker lost the request producer's id too: it would refuse its records forever.
          await producer.renew()
        }
      }
      let batch: [KafkaConsumerMessage]
      do {
        batch = try await replies.poll(maximum: 1000, timeout: .milliseconds(100))
      } catch {
        logger.error("reading replies failed: \(error)")
        break
      }
      for reply in batch {
        guard let id = reply.headers.string(RPCRecord.correlationID), pending.deliver(reply, to: id) else {
          logger.debug("orphan reply (its caller is gone)", metadata: ["offset": "\(reply.offset)"])
          continue
        }
      }
    }
    state.withLock { $0 = .closed }
    pending.failAll()
    await replies.close()
    // Every pending call has failed: a request still queued has no caller left to answer (and
    // should not run after its caller gave up), so a broker that is gone holds the shutdown of a
    // service's ServiceCaller (SIGTERM → exit within seconds) only briefly.
    // Both at once: with the broker gone each waits its whole timeout, one after the other
    // they held a service's shutdown 0.7 s. The broker keeps records in memory until deleted.
    async let flushed: Void = producer.shutdown(timeout: .milliseconds(200))
    try? await admin.deleteTopics([configuration.replyTopic], timeout: .milliseconds(500))
    await flushed
  }

  private func makeRequestProducer() throws -> KafkaProducer {
    var requestSettings = configuration.kafka
    // Spread requests without a key over the partitions (so over the replicas). A 2 ms linger
    // batches concurrent calls: with none, the local broker spends itself on tiny requests
    // (deploy/local/bench rpc: 3,700 calls/s at 256 callers with 0 ms, 5,000 with 2 ms).
    requestSettings.properties.merge(["linger.ms": "2", "sticky.partitioning.linger.ms": "0"]) { current, _ in
      current
    }
    return try KafkaProducer(configuration: requestSettings, logger: logger)
  }

  /// Creates the reply topic (idempotent) and reads its partitions from `start`.
  private func openReplyTopic(_ admin: KafkaAdmin, from start: KafkaConsumer.StartOffset) async throws
    -> KafkaConsumer
  {
    try await admin.createTopics([configuration.replyTopic], partitions: configuration.replyPartitions)
    return try await KafkaConsumer(
      configuration: configuration.kafka,
      subscription: .partitions(
        (0..<Int32(clamping: configuration.replyPartitions)).map { (configuration.replyTopic, $0, start) }
      ),
      fetchWait: configuration.fetchWait,
      logger: logger
    )
  }

  /// A broker that came back empty (the local one keeps topics in memory only) has lost the
  /// reply topic: servers' replies would go nowhere. When the broker answers without it (or
  /// with a new topic of that name), it is created again and read from its start (all in it is
  /// ours); nil when it was not lost, or the broker does not answer (which proves nothing), or
  /// it cannot be created yet (the next look tries again: the topic is still missing then).
  private func reopenReplyTopicIfLost(_ watch: KafkaTopicWatch, _ admin: KafkaAdmin) async -> KafkaConsumer? {
    guard let lost = try? await watch.lostTopics(timeout: .milliseconds(500)), !lost.isEmpty else { return nil }
    logger.warning("the reply topic was lost (broker restarted empty?): creating it again")
    do {
      return try await openReplyTopic(admin, from: .beginning)
    } catch {
      logger.warning("reply topic not created yet: \(error)")
      return nil
    }
  }

  private func close(with producer: KafkaProducer?) {
    state.withLock { state in
      if case .idle = state { state = producer.map { .connected($0) } ?? .closed }
    }
  }

  public func beginGracefulShutdown() {
    shuttingDown.withLock { $0 = true }
  }

  /// The producer once `connect()` set it up; waiting counts against the call's deadline.
  private func connectedProducer(until deadline: ContinuousClock.Instant) async throws -> KafkaProducer {
    while true {
      switch state.withLock({ $0 }) {
      case .connected(let producer) where !shuttingDown.withLock({ $0 }):
        return producer
      case .connected, .closed:
        throw RPCError(code: .unavailable, message: "the Kafka transport to \(configuration.service) is closed")
      case .idle:
        guard ContinuousClock.now < deadline else {
          throw RPCError(code: .deadlineExceeded, message: "not connected to the broker before the deadline")
        }
        try await Task.sleep(for: .milliseconds(5))  // only while the process starts
      }
    }
  }

  public func withStream<T: Sendable>(
    descriptor: MethodDescriptor,
    options: CallOptions,
    _ closure: (RPCStream<Inbound, Outbound>, ClientContext) async throws -> T
  ) async throws -> T {
    // Servers refuse a deadline more than 10 min ahead (RPCRecord.Limits.deadlineAhead): a longer
    // timeout is cut to it (also keeping `now + timeout` from overflowing).
    let longest = Duration.milliseconds(RPCRecord.Limits.deadlineAhead) - .seconds(1)
    let timeout = min(options.timeout ?? configuration.defaultTimeout, longest)
    let deadline = ContinuousClock.now + timeout
    let producer = try await connectedProducer(until: deadline)
    let request = AsyncThrowingStream.makeStream(of: RPCRequestPart<Bytes>.self)
    let response = AsyncThrowingStream.makeStream(of: RPCResponsePart<Bytes>.self)
    let stream = RPCStream(
      descriptor: descriptor,
      inbound: RPCAsyncSequence(wrapping: response.stream),
      outbound: RPCWriter.Closable(wrapping: StreamWriter(continuation: request.continuation))
    )
    let context = ClientContext(
      descriptor: descriptor,
      remotePeer: "kafka:\(configuration.requestTopic)",
      localPeer: "kafka:\(configuration.replyTopic)"
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask {
        await self.exchange(
          descriptor: descriptor,
          timeout: timeout,
          deadline: deadline,
          requests: request.stream,
          responses: response.continuation,
          producer: producer
        )
      }
      let result = try await closure(stream, context)
      group.cancelAll()
      return result
    }
  }

  /// Sends the request once the caller finished writing it, then turns the reply (or its
  /// absence) into response parts.
  private func exchange(
    descriptor: MethodDescriptor,
    timeout: Duration,
    deadline: ContinuousClock.Instant,
    requests: AsyncThrowingStream<RPCRequestPart<Bytes>, any Error>,
    responses: AsyncThrowingStream<RPCResponsePart<Bytes>, any Error>.Continuation,
    producer: KafkaProducer
  ) async {
    var metadata = Metadata()
    var messages: [[UInt8]] = []
    do {
      for try await part in requests {
        switch part {
        case .metadata(let more): metadata.add(contentsOf: more)
        case .message(let bytes): messages.append(bytes)
        }
      }
    } catch {
      responses.finish(throwing: error)
      return
    }

    let id = UUID().uuidString
    let slot = pending.register(id)
    // The deadline runs while the record is being stored too: the first send of a process may
    // wait for metadata and a producer id. A failed send ends the wait at once.
    let sendFailure = Mutex<(any Error)?>(nil)
    let record = RPCRecord.request(
      topic: configuration.requestTopic, descriptor: descriptor, correlationID: id, replyTo: configuration.replyTopic,
      deadline: deadline, metadata: metadata, messages: messages)
    let size = record.approximateSize
    guard size <= configuration.maximumRequestBytes else {
      pending.remove(id)
      finish(
        responses,
        Status(
          code: .resourceExhausted,
          message: "the request to \(descriptor) (\(size) bytes) exceeds the Kafka transport's limit of "
            + "\(configuration.maximumRequestBytes) bytes"
        )
      )
      return
    }
    Task {
      do {
        _ = try await producer.send(record)
      } catch {
        sendFailure.withLock { $0 = error }
        slot.deliver(nil)
      }
    }

    let reply = await slot.value(until: deadline, orElse: nil)
    guard let reply else {
      pending.remove(id)
      let status: Status =
        if let error = sendFailure.withLock({ $0 }) {
          Status(code: .unavailable, message: "request to \(configuration.service) not sent: \(error)")
        } else if Task.isCancelled {
          Status(code: .cancelled, message: "the call was cancelled")
        } else if ContinuousClock.now >= deadline {
          Status(code: .deadlineExceeded, message: "no reply from \(configuration.service) within \(timeout)")
        } else {
          Status(code: .unavailable, message: "the Kafka transport to \(configuration.service) closed")
        }
      finish(responses, status)
      return
    }
    deliver(reply, to: responses)
  }

  /// Turns a reply record into response parts. A reply that breaks the format (status outside
  /// 0…16, a repeated or oversized header, bad metadata, broken frames) fails the call with
  /// INTERNAL naming what was wrong: gRPC's status for a peer that broke the protocol.
  private func deliver(
    _ reply: KafkaConsumerMessage, to responses: AsyncThrowingStream<RPCResponsePart<Bytes>, any Error>.Continuation
  ) {
    let parsed: RPCRecord.Reply
    do throws(RPCRecord.WireProblem) {
      parsed = try RPCRecord.checkedReply(reply)
    } catch {
      logger.warning("malformed reply: \(error)", metadata: ["offset": "\(reply.offset)"])
      finish(
        responses, Status(code: .internalError, message: "malformed reply from \(configuration.service): \(error)"))
      return
    }
    let (status, initial, trailers, messages) = (parsed.status, parsed.initial, parsed.trailers, parsed.messages)
    if status.code == .ok {
      responses.yield(.metadata(initial))
      for message in messages { responses.yield(.message(message)) }
    }
    responses.yield(.status(status, trailers))
    responses.finish()
  }

  private func finish(
    _ responses: AsyncThrowingStream<RPCResponsePart<Bytes>, any Error>.Continuation, _ status: Status
  ) {
    responses.yield(.status(status, [:]))
    responses.finish()
  }
}
