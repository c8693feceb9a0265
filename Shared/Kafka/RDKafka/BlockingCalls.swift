import Dispatch

/// librdkafka calls that block (metadata, flush, polls with a timeout) run here, never on
/// Swift's cooperative thread pool, where they would starve unrelated tasks.
enum BlockingCalls {
  private static let queue = DispatchQueue(label: "crm.kafka.blocking", attributes: .concurrent)

  static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
      queue.async { continuation.resume(with: Result { try body() }) }
    }
  }
}
