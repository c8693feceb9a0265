/// One dependency that must answer before the service reports ready.
public struct ReadinessCheck: Sendable {
  public var name: String
  /// A failing advisory check reports the service degraded but still ready: it names trouble
  /// that does not stop the service from serving calls (e.g. a parked outbox row).
  public var advisory: Bool
  /// Throws when the dependency does not answer; the error text is shown in the report.
  public var probe: @Sendable () async throws -> Void

  public init(name: String, advisory: Bool = false, probe: @escaping @Sendable () async throws -> Void) {
    self.name = name
    self.advisory = advisory
    self.probe = probe
  }
}

/// The outcome of running every check once.
public struct ReadinessReport: Sendable, Equatable {
  /// Check name → "ok" or the failure.
  public var results: [String: String]
  /// Names of the advisory checks among them.
  public var advisory: Set<String> = []
  public var isReady: Bool { results.allSatisfy { advisory.contains($0.key) || $0.value == "ok" } }
  /// Ready, but an advisory check failed.
  public var isDegraded: Bool { results.contains { advisory.contains($0.key) && $0.value != "ok" } }

  /// Runs all checks concurrently, each bounded by `timeout`.
  public static func run(_ checks: [ReadinessCheck], timeout: Duration) async -> ReadinessReport {
    await withTaskGroup(of: (String, String).self) { group in
      for check in checks {
        group.addTask {
          do {
            try await withTimeout(timeout) { try await check.probe() }
            return (check.name, "ok")
          } catch {
            return (check.name, "\(error)")
          }
        }
      }
      var results: [String: String] = [:]
      for await (name, result) in group { results[name] = result }
      return ReadinessReport(results: results, advisory: Set(checks.filter(\.advisory).map(\.name)))
    }
  }
}
