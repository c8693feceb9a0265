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
    var pending: [UInt: DeliverySlot] = [:]
    var closed = false
  }

  /// Where one record's delivery report lands; the waiter may come before or after it.
  private typealias DeliverySlot = OneShot<Result<KafkaDeliveryReport, any Error>>

  /// Shared with the poller thread.
  private final class Shared: Sendable {
    let state = Mutex(State())
    let pollerStopped = Mutex(false)
  }

  private let handle: RDKafkaHandle
  private let shared = Shared()
  private let logger: Logger

  /// Settings that make sends safe; `configuration.properties` may still tune latency.
  /// No topic is created by producing to it: the broker's default partition count is not the
  /// topic's, and a topic made that way would hide from its owner that it had been lost.
  static let defaults: [String: String] = [
    "enable.idempotence": "true",
    "acks": "all",
    "linger.ms": "1",
    "message.timeout.ms": "30000",
    "allow.auto.create.topics": "false",
  ]

  public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
    self.logger = logger
    handle = try RDKafkaHandle(
      kind: .producer,
      properties: configuration.librdkafkaProperties(overriding: Self.defaults),
      logger: logger,
      events: RDKafkaDeliveryQueue.events
    )
    startPoller()
  }

  deinit {
    shared.state.withLock { $0.closed = true }
    shared.pollerStopped.withLock { $0 = true }  // the poller thread ends within one poll timeout
  }

  /// Produces a record and waits until the broker stored it (or delivery failed).
  public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
    try await Self.report(of: enqueue(message))
  }

  /// Produces the records in this order (so per partition they are stored in this order, the
  /// idempotent producer keeping it across retries), then waits for every delivery report.
  public func send(batch messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
    var slots: [DeliverySlot] = []
    slots.reserveCapacity(messages.count)
    for message in messages { slots.append(try await enqueue(message)) }
    var reports: [KafkaDeliveryReport] = []
    reports.reserveCapacity(slots.count)
    var firstError: (any Error)?
    for slot in slots {
      do { reports.append(try await Self.report(of: slot)) } catch { firstError = firstError ?? error }
    }
    if let firstError { throw firstError }
    return reports
  }

  private static func report(of slot: DeliverySlot) async throws -> KafkaDeliveryReport {
    guard let result = await slot.value() else { throw KafkaError(.shutDown, "delivery report awaited twice") }
    return try result.get()
  }

  /// Hands a record to librdkafka, waiting for room when its queue is full.
  private func enqueue(_ message: KafkaProducerMessage) async throws -> DeliverySlot {
    while true {
      let slot = DeliverySlot()
      let id: UInt? = shared.state.withLock { state in
        guard !state.closed else { return nil }
        let id = state.nextID
        state.nextID += 1
        state.pending[id] = slot
        return id
      }
      guard let id else { throw KafkaError(.shutDown, "the producer is shut down") }
      do {
        try handle.produce(message, opaque: id)
        return slot
      } catch  where error.kind == .queueFull {
        _ = shared.state.withLock { $0.pending.removeValue(forKey: id) }
        try await Task.sleep(for: .milliseconds(2))  // deliveries will make room
      } catch {
        _ = shared.state.withLock { $0.pending.removeValue(forKey: id) }
        throw error
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
      let deliveries = RDKafkaDeliveryQueue(of: handle)
      while !shared.pollerStopped.withLock({ $0 }) {
        for delivery in deliveries.poll(timeout: .milliseconds(100)) {
          let slot = shared.state.withLock { $0.pending.removeValue(forKey: delivery.opaque) }
          slot?.deliver(delivery.result.mapError { $0 as any Error })
        }
      }
      let abandoned = shared.state.withLock { state in
        defer { state.pending.removeAll() }
        return Array(state.pending.values)
      }
      for slot in abandoned {
        slot.deliver(.failure(KafkaError(.shutDown, "the producer shut down before delivery was confirmed")))
      }
    }
    thread.name = "crm.kafka.producer"
    thread.start()
  }
}
