import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// An idempotent producer (`enable.idempotence=true`, `acks=all`): `send` returns once the
/// broker stored the record. Delivery reports come from librdkafka's event queue, polled by
/// one dedicated thread (no per-message C callbacks). As a `Service` it flushes on shutdown.
///
/// A broker that lost the producer's id (one restarted empty) refuses its records forever
/// (UNKNOWN_PRODUCER_ID; librdkafka only bumps the epoch it has, and the records time out):
/// whoever notices the loss calls `renew`, and the producer goes on with a new client.
public final class KafkaProducer: Service, Sendable {
  /// Where one record's delivery report lands; the waiter may come before or after it.
  private typealias DeliverySlot = OneShot<Result<KafkaDeliveryReport, any Error>>

  /// One librdkafka client (one producer id) and its records awaiting their reports, polled by
  /// a thread of its own.
  private final class Client: Sendable {
    let handle: RDKafkaHandle
    /// Records awaiting their reports; nil once the poller stopped (a record registered after
    /// that would wait forever: its sender goes on to the client that replaced this one).
    let pending = Mutex<[UInt: DeliverySlot]?>([:])
    let pollerStopped = Mutex(false)
    /// What records still unconfirmed when the poller stops are failed with.
    let abandonedBecause = Mutex(KafkaError(.shutDown, "the producer shut down before delivery was confirmed"))

    init(handle: RDKafkaHandle) { self.handle = handle }
  }

  private struct State {
    var nextID: UInt = 1
    var closed = false
  }

  private let state = Mutex(State())
  private let client: Mutex<Client>
  private let properties: [String: String]
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
    properties = configuration.librdkafkaProperties(overriding: Self.defaults)
    let first = Client(handle: try Self.makeHandle(properties, logger: logger))
    client = Mutex(first)
    Self.startPoller(first)
  }

  private static func makeHandle(_ properties: [String: String], logger: Logger) throws(KafkaError) -> RDKafkaHandle {
    try RDKafkaHandle(kind: .producer, properties: properties, logger: logger, events: RDKafkaDeliveryQueue.events)
  }

  deinit {
    state.withLock { $0.closed = true }
    // The poller thread ends within one poll timeout.
    client.withLock { $0 }.pollerStopped.withLock { $0 = true }
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
      let id: UInt? = state.withLock { state in
        guard !state.closed else { return nil }
        defer { state.nextID += 1 }
        return state.nextID
      }
      guard let id else { throw KafkaError(.shutDown, "the producer is shut down") }
      let current = client.withLock { $0 }
      let registered = current.pending.withLock { pending in
        guard pending != nil else { return false }
        pending?[id] = slot
        return true
      }
      guard registered else { continue }  // replaced meanwhile (`renew`): the new client takes it
      do {
        try current.handle.produce(message, opaque: id)
        return slot
      } catch  where error.kind == .queueFull {
        _ = current.pending.withLock { $0?.removeValue(forKey: id) }
        try await Task.sleep(for: .milliseconds(2))  // deliveries will make room
      } catch {
        _ = current.pending.withLock { $0?.removeValue(forKey: id) }
        throw error
      }
    }
  }

  /// Goes on with a new librdkafka client, so a new producer id, and fails the records the old
  /// one still holds at once (`KafkaError.Kind.replaced`: the broker may have stored some of
  /// them). For a broker that lost the producer's id; records sent from now on go to the new one.
  public func renew() async {
    guard !state.withLock({ $0.closed }) else { return }
    let fresh: Client
    do {
      fresh = Client(handle: try Self.makeHandle(properties, logger: logger))
    } catch {
      logger.error("the producer could not be replaced: \(error)")
      return
    }
    Self.startPoller(fresh)
    let old = client.withLock { client in
      defer { client = fresh }
      return client
    }
    old.handle.purge()
    // The purge's reports reach their senders through the old poller; then it stops, failing
    // whatever is left.
    let handle = old.handle
    _ = try? await handle.blocking { handle.flush(timeout: .milliseconds(500)) }
    old.abandonedBecause.withLock {
      $0 = KafkaError(.replaced, "the producer was replaced before delivery was confirmed")
    }
    old.pollerStopped.withLock { $0 = true }
    // Shut down meanwhile, perhaps before the new client was in place: it stops too.
    if state.withLock({ $0.closed }) { fresh.pollerStopped.withLock { $0 = true } }
    logger.warning("producer replaced by a new one (new producer id)")
  }

  /// Runs until graceful shutdown, then flushes what is queued and stops.
  public func run() async throws {
    try? await gracefulShutdown()
    await shutdown()
  }

  /// Refuses new records, waits up to `timeout` for queued ones, fails the rest.
  public func shutdown(timeout: Duration = .seconds(5)) async {
    state.withLock { $0.closed = true }
    let current = client.withLock { $0 }
    let handle = current.handle
    let flushed = (try? await handle.blocking { handle.flush(timeout: timeout) }) ?? false
    if !flushed { logger.warning("producer shut down with records still queued") }
    current.pollerStopped.withLock { $0 = true }
  }

  private static func startPoller(_ client: Client) {
    let thread = Thread {
      let deliveries = RDKafkaDeliveryQueue(of: client.handle)
      while !client.pollerStopped.withLock({ $0 }) {
        for delivery in deliveries.poll(timeout: .milliseconds(100)) {
          let slot = client.pending.withLock { $0?.removeValue(forKey: delivery.opaque) }
          slot?.deliver(delivery.result.mapError { $0 as any Error })
        }
      }
      let abandoned = client.pending.withLock { pending in
        defer { pending = nil }
        return pending.map { Array($0.values) } ?? []
      }
      let reason = client.abandonedBecause.withLock { $0 }
      for slot in abandoned { slot.deliver(.failure(reason)) }
    }
    thread.name = "crm.kafka.producer"
    thread.start()
  }
}
