import Foundation

/// A program the test started; killed when the test forgets to stop it.
public final class ChildProcess: @unchecked Sendable {
  public let process = Process()
  private let outputPipe = Pipe()
  private let errorPipe = Pipe()
  private let outputData = Locked(Data())
  private let errorData = Locked(Data())

  public init(_ executable: URL, arguments: [String] = [], environment: [String: String]) throws {
    process.executableURL = executable
    process.arguments = arguments
    process.environment = environment
    process.standardOutput = outputPipe
    process.standardError = errorPipe
    for (pipe, collected) in [(outputPipe, outputData), (errorPipe, errorData)] {
      pipe.fileHandleForReading.readabilityHandler = { handle in
        let chunk = handle.availableData
        // At end of file the handle stays readable: without this the handler would be called
        // again and again for every child that exited, spinning a core for the whole test run.
        guard !chunk.isEmpty else {
          handle.readabilityHandler = nil
          return
        }
        collected.withLock { $0.append(chunk) }
      }
    }
    try process.run()
  }

  deinit {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    outputPipe.fileHandleForReading.readabilityHandler = nil
    errorPipe.fileHandleForReading.readabilityHandler = nil
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
