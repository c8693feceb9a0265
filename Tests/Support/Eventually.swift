import GRPCCore

/// The first non-nil value of `probe`, asked every `every` until `within` has passed; then
/// DEADLINE_EXCEEDED naming `what`. For system tests waiting on what other processes do.
public func eventually<T>(
  _ what: String, within limit: Duration = .seconds(30), every interval: Duration = .milliseconds(200),
  _ probe: () async throws -> T?
) async throws -> T {
  let deadline = ContinuousClock.now + limit
  while true {
    if let value = try await probe() { return value }
    guard ContinuousClock.now < deadline else {
      throw RPCError(code: .deadlineExceeded, message: "\(what): not within \(limit)")
    }
    try await Task.sleep(for: interval)
  }
}
