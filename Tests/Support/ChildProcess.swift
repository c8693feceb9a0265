import Foundation

/// A program the test started; killed when the test forgets to stop it.
public final class ChildProcess: @unchecked Sendable {
  public let process = Process()
  private let outputPipe = Pipe()
  private let errorPipe = Pipe()
  private let outputData = Locked(Data())
  private let errorData = Locked(Data())
  /// Pipes not yet read to their end.
  private let openPipes = Locked(2)

  public init(_ executable: URL, arguments: [String] = [], environment: [String: String]) throws {
    process.executableURL = executable
    process.arguments = arguments
    process.environment = environment
    process.standardOutput = outputPipe
    process.standardError = errorPipe
    try process.run()
    // Each pipe is read to its end by a thread of its own with blocking reads. Not with
    // `readabilityHandler`: its dispatch source crashed the test process now and then
    // (SIGSEGV in libdispatch's event loop) when many children came and went.
    for (pipe, collected) in [(outputPipe, outputData), (errorPipe, errorData)] {
      let handle = pipe.fileHandleForReading
      let openPipes = openPipes
      let reader = Thread {
        while true {
          let chunk = handle.availableData
          if chunk.isEmpty { break }
          collected.withLock { $0.append(chunk) }
        }
        openPipes.withLock { $0 -= 1 }
      }
      reader.start()
    }
  }

  deinit {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
  }

  /// What the program wrote to standard output so far.
  public var standardOutput: String { outputData.withLock { String(decoding: $0, as: UTF8.self) } }

  /// What the program wrote to standard error so far.
  public var standardError: String { errorData.withLock { String(decoding: $0, as: UTF8.self) } }

  public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

  /// Waits for the exit; nil when the program still runs after `limit`.
  public func waitForExit(within limit: Duration) async throws -> Int32? {
    let deadline = ContinuousClock.now + limit
    while process.isRunning {
      if ContinuousClock.now >= deadline { return nil }
      try await Task.sleep(for: .milliseconds(20))
    }
    // What it wrote last may still be in the pipes: read them to their end (a grandchild that
    // keeps a pipe open gets a second).
    let drained = ContinuousClock.now + .seconds(1)
    while openPipes.withLock({ $0 }) > 0 && ContinuousClock.now < drained {
      try await Task.sleep(for: .milliseconds(10))
    }
    return process.terminationStatus
  }
}

/// A value behind a lock, for state shared with callbacks.
public final class Locked<Value>: @unchecked Sendable {
  private var value: Value
  private let lock = NSLock()
  public init(_ value: Value) { self.value = value }
  public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}
