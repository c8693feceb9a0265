import Foundation

/// A broker of the test's own (same binary as the stack's), so a test may stop it freely.
public final class PrivateBroker: Sendable {
  public let port: Int
  private let child: ChildProcess

  public init() async throws {
    port = freeLocalPort()
    child = try ChildProcess(
      LocalStack.brokerBinary,
      arguments: [
        "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
      ],
      environment: ["PATH": "/usr/bin:/bin"]
    )
    let deadline = ContinuousClock.now + .seconds(20)
    while !Self.accepts(port: port) {
      guard ContinuousClock.now < deadline else { throw BrokerDidNotStart(stderr: child.standardError) }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  public var brokers: String { "127.0.0.1:\(port)" }

  /// Kills the broker at once, as a crash would.
  public func kill() async throws {
    child.signal(SIGKILL)
    _ = try await child.waitForExit(within: .seconds(5))
  }

  /// Freezes the broker (SIGSTOP): it holds its data but answers nothing, as a hung broker would.
  public func pause() { child.signal(SIGSTOP) }

  /// Lets a paused broker go on (SIGCONT).
  public func resume() { child.signal(SIGCONT) }

  static func accepts(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = loopback(port: port)
    return withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }

  struct BrokerDidNotStart: Error, CustomStringConvertible {
    var stderr: String
    var description: String { "the private broker did not accept connections within 20 s: \(stderr)" }
  }
}
