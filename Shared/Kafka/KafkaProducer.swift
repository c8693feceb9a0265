import CRdKafka
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent producer (`enable.idempotence=true`, `acks=all`): `send` returns once the
/// broker stored the record. Delivery reports come from librdkafka's event queue, polled by
/// one dedicated thread (no per-message C callbacks). As a `Service` it flushes on shutdown.
public final class KafkaProducer: Service, Sendable {
  private struct State {
    var nextID: UInt = 1
    var pending: [UInt: CheckedContinuation<KafkaDeliveryReport, any Error>] = [:]
    var closed = false
  }

  /// Shared with the poller thread.
  private final class Shared: Sendable {
    let state = Mutex(State())
    let pollerStopped = Mutex(false)
  }

  private let handle: RDKafkaHandle
  private let shared = Shared()
  private let logger: Logger

  /// Settings that make sends safe; `configuration.properties` may still tune latency.
  static let defaults: [String: String] = [
    "enable.idempotence": "true",
    "acks": "all",
    "linger.ms": "1",
    "message.timeout.ms": "30000",
  ]

  public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
    self.logger = logger
    handle = try RDKafkaHandle(
      kind: .producer,
      properties: configuration.librdkafkaProperties(overriding: Self.defaults),
      logger: logger,
      events: Int32(RD_KAFKA_EVENT_DR)
    )
    startPoller()
  }

  deinit {
    shared.state.withLock { $0.closed = true }
    shared.pollerStopped.withLock { $0 = true }  // the poller thread ends within one poll timeout
  }

  /// Produces a record and waits until the broker stored it (or delivery failed).
  public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
    while true {
      do {
        return try await sendOnce(message)
      } catch let error as KafkaError where error.kind == .queueFull {
        try await Task.sleep(for: .milliseconds(2))  // deliveries will make room
      }
    }
  }

  private func sendOnce(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
    try await withCheckedThrowingContinuation { continuation in
      let id: UInt? = shared.state.withLock { state in
        guard !state.closed else { return nil }
        let id = state.nextID
        state.nextID += 1
        state.pending[id] = continuation
        return id
      }
      guard let id else {
        continuation.resume(throwing: KafkaError(.shutDown, "the producer is shut down"))
        return
      }
      do {
        try handle.produce(message, opaque: id)
      } catch {
        let waiting = shared.state.withLock { $0.pending.removeValue(forKey: id) }
        waiting?.resume(throwing: error)
      }
    }
  }

  /// Runs until graceful shutdown, then flushes what is queued and stops.
  public func run() async throws {
    try? await gracefulShutdown()
    await shutdown()
  }

  /// Refuses new records, waits up to `timeout` for queued ones, fails the rest.
  public func shutdown(timeout: Duration = .seconds(5)) async {
    shared.state.withLock { $0.closed = true }
    let handle = self.handle
    let flushed = (try? await handle.blocking { handle.flush(timeout: timeout) }) ?? false
    if !flushed { logger.warning("producer shut down with records still queued") }
    shared.pollerStopped.withLock { $0 = true }
  }

  private func startPoller() {
    let handle = self.handle
    let shared = self.shared
    let thread = Thread {
      let queue = handle.mainQueue()
      defer { rd_kafka_queue_destroy(queue) }
      while !shared.pollerStopped.withLock({ $0 }) {
        for delivery in handle.pollDeliveries(queue: queue, timeout: .milliseconds(100)) {
          let continuation = shared.state.withLock { $0.pending.removeValue(forKey: delivery.opaque) }
          continuation?.resume(with: delivery.result.mapError { $0 as any Error })
        }
      }
      let abandoned = shared.state.withLock { state in
        defer { state.pending.removeAll() }
        return Array(state.pending.values)
      }
      for continuation in abandoned {
        continuation.resume(throwing: KafkaError(.shutDown, "the producer shut down before delivery was confirmed"))
      }
    }
    thread.name = "crm.kafka.producer"
    thread.start()
  }
}
