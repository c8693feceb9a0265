import Synchronization

/// Opens once the service's database schema is current; what needs the schema waits for it.
public final class SchemaGate: Sendable {
  enum State: Sendable {
    case migrating
    case open
    case failed(String)
  }

  struct NotMigrated: Error, CustomStringConvertible {
    var description: String
  }

  private let state = Mutex(State.migrating)

  public init() {}

  func open() { state.withLock { $0 = .open } }
  func fail(_ reason: String) { state.withLock { $0 = .failed(reason) } }

  /// Throws unless the schema is current: for the readiness check.
  public func check() throws {
    switch state.withLock({ $0 }) {
    case .open: return
    case .migrating: throw NotMigrated(description: "database migrations not applied yet")
    case .failed(let reason): throw NotMigrated(description: reason)
    }
  }

  /// Returns when the gate opens; throws when migrating failed or the task is cancelled.
  /// Polls: it is waited on a handful of times per process start.
  public func wait() async throws {
    while true {
      switch state.withLock({ $0 }) {
      case .open: return
      case .failed(let reason): throw NotMigrated(description: reason)
      case .migrating: try await Task.sleep(for: .milliseconds(20))
      }
    }
  }
}
