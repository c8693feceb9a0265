import CRMKafka
import Foundation
import GRPCCore
import Logging
import Synchronization

/// GRPCCore's `ServerTransport` over Kafka: the service's replicas share `crm.rpc.<service>`
/// through one consumer group; each request record becomes one RPC stream and its response
/// one reply record on the caller's reply topic. Requests past their deadline are dropped
/// unexecuted; unreadable ones go to `crm.dlq.rpc.<service>` and the server goes on.
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
    /// Calls executing at once; the server stops fetching above it.
    public var maximumConcurrentCalls: Int

    public init(
      kafka: KafkaConfiguration,
      service: String,
      requestPartitions: Int = 8,
      fetchWait: Duration = .milliseconds(2),
      maximumConcurrentCalls: Int = 1024
    ) {
      self.kafka = kafka
      self.service = service
      self.requestPartitions = requestPartitions
      self.fetchWait = fetchWait
      self.maximumConcurrentCalls = maximumConcurrentCalls
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
    guard let (consumer, producer) = await connect() else { return }  // shut down before the broker came
    logger.info("serving RPC", metadata: ["topic": "\(configuration.requestTopic)"])

    await withDiscardingTaskGroup { group in
      var lastCommit = ContinuousClock.now
      var lastAssignmentCheck = ContinuousClock.now - .seconds(1)
      while !shuttingDown.withLock({ $0 }) {
        if offsets.withLock({ $0.inFlightCount }) >= configuration.maximumConcurrentCalls {
          try? await Task.sleep(for: .milliseconds(1))
          continue
        }
        let batch: [KafkaConsumerMessage]
        do {
          batch = try await consumer.poll(maximum: 256, timeout: .milliseconds(100))
        } catch {
          logger.error("reading requests failed: \(error)")
          break
        }
        for record in batch {
          offsets.withLock { $0.started(topic: record.topic, partition: record.partition, offset: record.offset) }
          switch Self.validate(record) {
          case .failure(let problem):
            await deadLetter(record, problem: problem, producer: producer)
            markDone(record)
          case .success(let call) where ContinuousClock.now >= call.deadline:
            logger.debug("dropped an expired request", metadata: ["method": "\(call.descriptor)"])
            markDone(record)
          case .success(let call):
            group.addTask {
              await self.serve(call, streamHandler: streamHandler, producer: producer)
              self.markDone(record)
            }
          }
        }
        if ContinuousClock.now - lastCommit > .milliseconds(50) {
          await commit(consumer)
          lastCommit = ContinuousClock.now
        }
        if ContinuousClock.now - lastAssignmentCheck > .milliseconds(250) {
          let count = (try? await consumer.assignedPartitionCount()) ?? 0
          assignedPartitions.withLock { $0 = count }
          lastAssignmentCheck = ContinuousClock.now
        }
      }
    }
    assignedPartitions.withLock { $0 = 0 }
    await commit(consumer, wait: true)
    await consumer.close()
    await producer.shutdown()
  }

  /// Creates the topics, joins the group and opens the reply producer, retrying while the broker
  /// is away (a service may start before it); nil when shut down first.
  private func connect() async -> (KafkaConsumer, KafkaProducer)? {
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
        var replySettings = configuration.kafka
        // Batch concurrent replies (see the client's request producer).
        replySettings.properties.merge(["linger.ms": "2", "sticky.partitioning.linger.ms": "0"]) { current, _ in current
        }
        let producer = try KafkaProducer(configuration: replySettings, logger: logger)
        return (consumer, producer)
      } catch {
        logger.warning("RPC server not started yet, retrying in \(backoff): \(error)")
        try? await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(5))
      }
    }
    return nil
  }

  /// True while the group has given this replica request partitions to serve.
  public var isServing: Bool { assignedPartitions.withLock { $0 } > 0 }

  private func markDone(_ record: KafkaConsumerMessage) {
    offsets.withLock { $0.finished(topic: record.topic, partition: record.partition, offset: record.offset) }
  }

  /// In the serving loop the commit must not wait for the broker (`wait: false`); at the end it does.
  private func commit(_ consumer: KafkaConsumer, wait: Bool = false) async {
    let committable = offsets.withLock { $0.takeCommittable() }
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

  enum Problem: Error, CustomStringConvertible {
    case missingHeader(String)
    case badHeader(String, String)
    case badValue(String)

    var description: String {
      switch self {
      case .missingHeader(let name): "missing header \(name)"
      case .badHeader(let name, let value): "header \(name) has \"\(value)\""
      case .badValue(let reason): reason
      }
    }
  }

  static func validate(_ record: KafkaConsumerMessage) -> Result<Call, Problem> {
    let headers = record.headers
    guard let method = headers.string(RPCRecord.method) else { return .failure(.missingHeader(RPCRecord.method)) }
    let parts = method.split(separator: "/")
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
      return .failure(.badHeader(RPCRecord.method, method))
    }
    guard let id = headers.string(RPCRecord.correlationID), !id.isEmpty else {
      return .failure(.missingHeader(RPCRecord.correlationID))
    }
    guard let replyTo = headers.string(RPCRecord.replyTo), replyTo.hasPrefix("crm.rpc.reply.") else {
      return .failure(.missingHeader(RPCRecord.replyTo))
    }
    guard let deadlineText = headers.string(RPCRecord.deadline), let deadlineMillis = Int64(deadlineText) else {
      return .failure(.missingHeader(RPCRecord.deadline))
    }
    let messages: [[UInt8]]
    do {
      messages = try RPCRecord.unframe(record.value)
    } catch {
      return .failure(.badValue(error.description))
    }
    let remaining = Duration.milliseconds(deadlineMillis - RPCRecord.epochMilliseconds())
    var metadata = RPCRecord.metadata(headers, prefix: RPCRecord.requestMetadataPrefix)
    // The record's correlation id is the same when the record is delivered again: the handler
    // may use it as the request's idempotency key. Only the transport sets it.
    metadata.removeAllValues(forKey: Self.correlationMetadataKey)
    metadata.addString(id, forKey: Self.correlationMetadataKey)
    return .success(
      Call(
        descriptor: MethodDescriptor(fullyQualifiedService: String(parts[0]), method: String(parts[1])),
        correlationID: id,
        replyTo: replyTo,
        deadline: ContinuousClock.now + remaining,
        metadata: metadata,
        messages: messages
      )
    )
  }

  private func deadLetter(_ record: KafkaConsumerMessage, problem: Problem, producer: KafkaProducer) async {
    logger.warning(
      "dead-lettered a request record",
      metadata: ["error": "\(problem)", "origin": "\(record.topic)/\(record.partition)/\(record.offset)"]
    )
    let headers =
      record.headers + [
        KafkaHeader(key: "crm-dlq-error", string: problem.description),
        KafkaHeader(key: "crm-dlq-origin", string: "\(record.topic)/\(record.partition)/\(record.offset)"),
      ]
    do {
      _ = try await producer.send(
        KafkaProducerMessage(
          topic: configuration.deadLetterTopic, key: record.key, value: record.value, headers: headers)
      )
    } catch {
      logger.error("dead-lettering failed: \(error)")
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
    let headers =
      [
        KafkaHeader(key: RPCRecord.correlationID, string: call.correlationID),
        KafkaHeader(key: RPCRecord.statusCode, string: "\(status.code.rawValue)"),
        KafkaHeader(key: RPCRecord.statusMessage, string: status.message),
      ] + RPCRecord.headers(initial, prefix: RPCRecord.initialMetadataPrefix)
      + RPCRecord.headers(trailers, prefix: RPCRecord.trailerPrefix)
    do {
      _ = try await producer.send(
        KafkaProducerMessage(topic: call.replyTo, value: RPCRecord.frame(messages), headers: headers)
      )
    } catch {
      logger.error("reply not sent: \(error)", metadata: ["method": "\(call.descriptor)"])
    }
  }
}
