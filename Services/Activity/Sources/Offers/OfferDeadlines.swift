import Foundation
import Logging
import ServiceLifecycle

/// Records "no answer" on the offers whose deadline passed, every `interval` (a refusal by
/// silence is data too). Several replicas may sweep at once: each offer is answered once.
struct OfferDeadlines: Service {
  let repository: PostgresActivityRepository
  let interval: Duration

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        while true {
          await sweep()
          try await Task.sleep(for: interval)
        }
      }
    } catch is CancellationError {
      // Shutting down.
    }
  }

  /// Every offer past its deadline now, in batches; a failure is logged and tried again next time.
  func sweep() async {
    do {
      var missed = 0
      while true {
        let batch = try await repository.recordMissedDeadlines(now: Date())
        missed += batch.count
        if batch.count < 100 || Task.isCancelled { break }
      }
      if missed > 0 {
        repository.logger.info("offers without an answer by their deadline", metadata: ["offers": "\(missed)"])
      }
    } catch {
      repository.logger.warning("the offer deadline sweep failed", metadata: ["error": "\(String(reflecting: error))"])
    }
  }
}
