/// One dependency that must answer before the service reports ready.
public struct ReadinessCheck: Sendable {
  public var name: String
  /// Throws when the dependency does not answer; the error text is shown in the report.
  public var probe: @Sendable () async throws -> Void

  public init(name: String, probe: @escaping @Sendable () async throws -> Void) {
    self.name = name
    self.probe = probe
  }
}

/// The outcome of running every check once.
public struct ReadinessReport: Sendable, Equatable {
  /// Check name → "ok" or the failure.
  public var results: [String: String]
  public var isReady: Bool { results.values.allSatisfy { $0 == "ok" } }

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
      return ReadinessReport(results: results)
    }
  }
}
