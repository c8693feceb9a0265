import CRMContracts
import Foundation
import Logging
import ServiceLifecycle

/// Makes a lead in the contacts service (`CreateLead`). The request id makes a repeat answer
/// the lead made the first time instead of making another.
protocol LeadCreating: Sendable {
  func createLead(_ request: Crm_Contacts_V1_CreateLeadRequest, requestID: String) async throws
    -> Crm_Contacts_V1_Lead
}

/// An unknown caller's lead, as asked of the contacts service.
enum UnknownCallerLead {
  static let source = "incoming call"

  /// Derived from the number alone: every replica, every retry and every restart asks for the
  /// same lead, and the contacts service answers a repeated request id with its first reply.
  static func requestID(number: String) -> String { "activity-unknown-caller-\(number)" }

  static func request(number: String, owner: String) -> Crm_Contacts_V1_CreateLeadRequest {
    .with {
      $0.name = "Incoming call \(number)"
      $0.phone = number
      $0.source = source
      $0.ownerID = owner
    }
  }

  /// How long to wait after `attempts` failed tries: 1 s doubling up to a minute, for ever (a
  /// number waiting for its lead is never dropped).
  static func backoff(attempts: Int) -> TimeInterval {
    min(60, pow(2, Double(min(attempts, 6)) - 1))
  }
}

/// What one pass did with one waiting number.
enum LeadAttempt: Sendable, Equatable {
  case created(number: String, leadID: String, calls: Int)
  case failed(number: String, error: String, retryIn: TimeInterval)
}

/// The background worker that turns unknown callers' numbers (recorded with their calls) into
/// leads, once per number also with several replicas (each number is locked while it is asked
/// for), retrying while the contacts service is unavailable.
struct UnknownCallers: Service {
  let repository: PostgresActivityRepository
  let leads: any LeadCreating
  /// The lead's owner when the call named no manager.
  let defaultOwner: String
  /// How often it looks without being woken (calls stored by another replica, retries).
  let interval: Duration
  let wake: WakeSignal

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        while true {
          await drain()
          await wake.wait(upTo: interval)
          try Task.checkCancellation()
        }
      }
    } catch is CancellationError {
      // Shutting down: a number not done yet stays waiting in its table.
    }
  }

  /// Every number due now; failures are logged and tried again after their back-off.
  func drain() async {
    do {
      while !Task.isCancelled,
        let attempt = try await repository.makeLeadForNextUnknownCaller(
          leads: leads, defaultOwner: defaultOwner, now: Date())
      {
        switch attempt {
        case .created(let number, let lead, let calls):
          repository.logger.info(
            "lead made for an unknown caller",
            metadata: ["number": "\(number)", "lead": "\(lead)", "calls": "\(calls)"])
        case .failed(let number, let error, let retryIn):
          repository.logger.warning(
            "no lead yet for an unknown caller",
            metadata: ["number": "\(number)", "error": "\(error)", "retry_in_s": "\(retryIn)"])
        }
      }
    } catch {
      repository.logger.warning("the unknown-caller worker failed", metadata: ["error": "\(String(reflecting: error))"])
    }
  }
}

/// Wakes a sleeping worker early (a signal given while it runs wakes its next wait at once).
final class WakeSignal: Sendable {
  private let stream: AsyncStream<Void>
  private let continuation: AsyncStream<Void>.Continuation

  init() {
    (stream, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
  }

  func signal() { continuation.yield() }

  /// Returns when signalled or after `timeout`.
  func wait(upTo timeout: Duration) async {
    let stream = self.stream
    await withTaskGroup(of: Void.self) { group in
      group.addTask {
        var iterator = stream.makeAsyncIterator()
        _ = await iterator.next()
      }
      group.addTask { try? await Task.sleep(for: timeout) }
      await group.next()
      group.cancelAll()
    }
  }
}
