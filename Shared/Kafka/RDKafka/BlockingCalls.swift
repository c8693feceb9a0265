import Dispatch

/// librdkafka calls that block (metadata, flush, polls with a timeout) run on a serial queue of
/// their client, never on Swift's cooperative thread pool, where they would starve unrelated
/// tasks. Serial queues target Dispatch's overcommitting pool, so a blocked one gets a thread
/// of its own; a shared concurrent queue would not (on Linux it is capped at the core count,
/// and two blocked polls stalled every other task for their whole timeout).
enum BlockingCalls {
  static func makeQueue(_ label: String) -> DispatchQueue {
    DispatchQueue(label: "crm.kafka.\(label)")
  }

  static func run<Value: Sendable>(
    on queue: DispatchQueue,
    _ body: @escaping @Sendable () throws -> Value
  ) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try body() }) }
    }
  }
}
