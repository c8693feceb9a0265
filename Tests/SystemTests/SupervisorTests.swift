import CRMTestSupport
import Foundation
import Testing

/// `deploy/local/supervise`, under which `deploy/local/run` runs the services: a service that
/// dies is reported (which one, why, its last log lines) and started again, as an orchestrator
/// would; SIGTERM stops it and the supervisor cleanly. Real processes, the debug executables.
@Suite("Local supervisor")
struct SupervisorTests {
  @Test func serviceKilledWithSIGKILLIsReportedThenRestartedUntilReadyAgain() async throws {
    // A schema of its own: the supervised contacts process runs its outbox relay on its broker.
    try await TestSchema.with(database: "contacts") { _, schema in
      let broker = try await PrivateBroker()
      let port = freeLocalPort()
      let logs = FileManager.default.temporaryDirectory.appendingPathComponent("supervise-\(UUID().uuidString)")
      defer { try? FileManager.default.removeItem(at: logs) }
      let supervisor = try supervise(
        "contacts", in: LocalStack.binDirectory, httpPort: port, logs: logs,
        [
          "CRM_PG_PORT": "\(LocalStack.postgresPort)",
          "CRM_KAFKA_BROKERS": broker.brokers,
          "CRM_TOKEN_VERIFY_KEYS_FILE": TestIdentity.publicKeyFile,
          "CRM_DATABASE_PARAMS": "search_path=\(schema)",
          "CRM_LOG_LEVEL": "info",
        ])
      do {
        try await killAndWatch(supervisor, port: port, log: logs.appendingPathComponent("contacts.log"))
      } catch {
        // Never leave the service running in a schema about to be dropped.
        supervisor.signal(SIGTERM)
        _ = try? await supervisor.waitForExit(within: .seconds(15))
        throw error
      }
    }
  }

  @Test func serviceThatKeepsFailingIsRestartedWithDoublingDelaysUpToTheLimit() async throws {
    // A stand-in that fails at once, as a service with a broken configuration would.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("supervise-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: folder) }
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let executable = folder.appendingPathComponent("deals")
    try "#!/bin/sh\necho \"deals: configuration error: CRM_KAFKA_BROKERS expected host:port\" >&2\nexit 2\n"
      .write(to: executable, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: executable.path)
    let supervisor = try supervise(
      "deals", in: folder, httpPort: freeLocalPort(), logs: folder, ["CRM_RESTART_MAX_DELAY": "2"])
    defer { supervisor.signal(SIGKILL) }
    _ = try await supervisor.waitForOutput(#/restarting deals in 2 s \(restart 3\)/#, within: .seconds(45))
    let output = supervisor.standardOutput
    #expect(
      output.matches(of: #/deals \(pid \d+\) exited with code 2 after [0-9.]+ s; its last log lines:\n/#).count == 3,
      "\(output)")
    #expect(output.contains("    | deals: configuration error: CRM_KAFKA_BROKERS expected host:port\n"), "\(output)")
    let delays = output.matches(of: #/restarting deals in (\d+) s/#).map { String($0.1) }
    #expect(delays == ["1", "2", "2"], "\(output)")

    supervisor.signal(SIGTERM)
    #expect(try await supervisor.waitForExit(within: .seconds(5)) == 0, "\(supervisor.standardOutput)")
  }

  /// `deploy/local/supervise` for `service` from the executables in `folder`, its logs in `logs`;
  /// the services' HTTP ports start at `httpPort` (contacts' own).
  func supervise(
    _ service: String, in folder: URL, httpPort: Int, logs: URL, _ environment: [String: String]
  ) throws -> ChildProcess {
    try ChildProcess(
      LocalStack.repositoryRoot.appendingPathComponent("deploy/local/supervise"),
      arguments: [folder.path, service],
      environment: environment.merging(
        ["PATH": "/usr/local/bin:/usr/bin:/bin", "CRM_HTTP_BASE_PORT": "\(httpPort)", "CRM_LOG_DIR": logs.path]
      ) { given, _ in given }
    )
  }

  func killAndWatch(_ supervisor: ChildProcess, port: Int, log: URL) async throws {
    let ready = #/contacts ready \(pid (\d+)\)/#
    let first = try await supervisor.waitForOutput(ready, within: .seconds(60)).1
    let firstPID = try #require(Int32(first))

    kill(firstPID, SIGKILL)
    let report = try await supervisor.waitForOutput(
      #/contacts \(pid (\d+)\) was killed by signal SIGKILL after [0-9.]+ s; its last log lines:\n((?:    \| .*\n)+)/#,
      within: .seconds(10))
    #expect(report.1 == first)
    // The lines shown are the service's own, from its log.
    let logText = try String(contentsOf: log, encoding: .utf8)
    let shown = report.2.split(separator: "\n").map { $0.dropFirst("    | ".count) }
    #expect(!shown.isEmpty)
    for line in shown { #expect(logText.contains(line), "\(line) is not in the log:\n\(logText)") }
    _ = try await supervisor.waitForOutput(#/restarting contacts in 1 s \(restart 1\)/#, within: .seconds(5))

    let started = try await supervisor.waitForOutput(
      #/contacts started \(pid (\d+)/#, occurrence: 2, within: .seconds(5))
    let second = try await supervisor.waitForOutput(ready, occurrence: 2, within: .seconds(90)).1
    #expect(second == started.1)
    #expect(second != first)
    let secondPID = try #require(Int32(second))
    #expect(await HTTPProbe.status("http://127.0.0.1:\(port)/health/ready") == 200)

    supervisor.signal(SIGTERM)
    let exit = try await supervisor.waitForExit(within: .seconds(15))
    #expect(exit == 0, "the supervisor after SIGTERM: \(String(describing: exit))\n\(supervisor.standardOutput)")
    #expect(supervisor.standardOutput.contains("contacts stopped: exited with code 0"), "\(supervisor.standardOutput)")
    #expect(kill(secondPID, 0) == -1 && errno == ESRCH, "the restarted service outlived its supervisor")
    #expect(supervisor.standardError.isEmpty, "the supervisor's errors: \(supervisor.standardError)")
  }
}

extension ChildProcess {
  /// Waits until the standard output so far has `occurrence` matches of `pattern`; returns the last of them.
  func waitForOutput<Output>(_ pattern: Regex<Output>, occurrence: Int = 1, within limit: Duration) async throws
    -> Output
  {
    let deadline = ContinuousClock.now + limit
    while true {
      let matches = standardOutput.matches(of: pattern)
      if matches.count >= occurrence { return matches[occurrence - 1].output }
      guard ContinuousClock.now < deadline, process.isRunning else {
        throw OutputNotSeen(pattern: "\(pattern)", output: standardOutput, errors: standardError)
      }
      try await Task.sleep(for: .milliseconds(100))
    }
  }
}

struct OutputNotSeen: Error, CustomStringConvertible {
  var pattern: String
  var output: String
  var errors: String
  var description: String { "never printed a match of the expected line; output:\n\(output)\nerrors:\n\(errors)" }
}
