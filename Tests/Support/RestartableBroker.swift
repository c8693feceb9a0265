import CRMKafka
import Foundation
import Logging

/// A private broker a test may kill and start again on the same port. The local broker keeps
/// records in memory only, so it comes back with no topics: a broker lost and replaced.
public final class RestartableBroker: Sendable {
  public let port = freeLocalPort()
  private let child = Locked<ChildProcess?>(nil)

  public init() async throws { try await start() }

  public var brokers: String { "127.0.0.1:\(port)" }

  /// Kills the broker (SIGKILL) and starts an empty one on the same port.
  public func restart() async throws {
    await stop()
    try await start()
  }

  public func stop() async {
    guard let running = child.withLock({ $0 }) else { return }
    running.signal(SIGKILL)
    _ = try? await running.waitForExit(within: .seconds(5))
    child.withLock { $0 = nil }
  }

  private func start() async throws {
    let started = try ChildProcess(
      LocalStack.brokerBinary,
      arguments: [
        "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
      ],
      environment: ["PATH": "/usr/bin:/bin"]
    )
    child.withLock { $0 = started }
    let kafka = KafkaConfiguration(bootstrapServers: [brokers], clientID: "broker-probe")
    let admin = try KafkaAdmin(configuration: kafka, logger: Logger(label: "broker-probe"))
    let deadline = ContinuousClock.now + .seconds(20)
    while (try? await admin.clusterMetadata(timeout: .milliseconds(500))) == nil {
      guard ContinuousClock.now < deadline else { throw DidNotStart(stderr: started.standardError) }
      try await Task.sleep(for: .milliseconds(100))
    }
  }

  struct DidNotStart: Error, CustomStringConvertible {
    var stderr: String
    var description: String { "the broker did not start within 20 s: \(stderr)" }
  }
}
