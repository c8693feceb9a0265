import CRMContracts
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Testing

/// Quiet when idle: a server without requests stops fetching (the local broker holds every
/// fetch for its whole wait, so a 2 ms wait costs it a core for nothing) and probes its
/// partitions' end offsets instead; the next calls wake it and are answered, none lost.
@Suite("RPC server at rest")
struct IdleServerTests {
  @Test func anIdleServerWakesForTheNextCallsAndLosesNone() async throws {
    var harness = RPCHarness()
    harness.idleAfter = .milliseconds(500)
    let service = ScriptedDiagnostics(replica: "a")
    try await harness.run(replicas: [[service]]) { diagnostics, _, servers in
      #expect(try await diagnostics.echo(echo("first")).text == "first")
      for round in 0..<3 {
        try await waitUntil("the server is idle", within: .seconds(15)) { servers[0].isIdle }
        // Several at once, over the topic's four partitions: each paused partition's place is
        // kept, so none of them is skipped when fetching resumes.
        let texts = try await withThrowingTaskGroup(of: String.self) { group in
          for call in 0..<8 {
            group.addTask {
              try await diagnostics.echo(echo("round-\(round)-\(call)"), options: options(timeout: .seconds(20))).text
            }
          }
          return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(texts == Set((0..<8).map { "round-\(round)-\($0)" }))
      }
      #expect(service.total == 1 + 3 * 8, "each call executed once")
    }
  }

  /// With `idleAfter` nil the server never pauses (a broker that answers a fetch as soon as
  /// data arrives needs no pause).
  @Test func withoutIdleAfterTheServerKeepsFetching() async throws {
    var harness = RPCHarness()
    harness.idleAfter = nil
    try await harness.run(replicas: [[ScriptedDiagnostics(replica: "a")]]) { diagnostics, _, servers in
      #expect(try await diagnostics.echo(echo("one")).text == "one")
      try await Task.sleep(for: .seconds(1))
      #expect(!servers[0].isIdle)
      #expect(try await diagnostics.echo(echo("two")).text == "two")
    }
  }
}

extension IdleServerTests {
  /// One call at a time, at random moments of the pause and probe cycle (idle after 100 ms):
  /// none is lost. Before, a server woken by a request paused again before librdkafka fetched
  /// it (its fetcher slept up to a second after a resume), and again at every probe after.
  @Test func everySingleCallAroundTheIdlePauseIsAnswered() async throws {
    var harness = RPCHarness()
    harness.idleAfter = .milliseconds(100)
    let service = ScriptedDiagnostics(replica: "a")
    try await harness.run(replicas: [[service]]) { diagnostics, _, servers in
      var lost: [String] = []
      var slowest = Duration.zero
      for round in 0..<40 {
        try await Task.sleep(for: .milliseconds(Int.random(in: 0...350)))
        let wasIdle = servers[0].isIdle
        let started = ContinuousClock.now
        do {
          _ = try await diagnostics.echo(echo("r\(round)"), options: options(timeout: .seconds(30)))
        } catch {
          lost.append("r\(round) (idle before: \(wasIdle)): \(error)")
        }
        slowest = max(slowest, ContinuousClock.now - started)
      }
      #expect(lost.isEmpty, "\(lost)")
      #expect(service.total == 40 - lost.count, "each call executed once")
      print("40 single calls around idle pauses: slowest \(slowest)")
    }
  }
}
