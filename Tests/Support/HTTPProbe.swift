import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// Minimal HTTP GET for probing a service from outside, as an orchestrator would.
public enum HTTPProbe {
  /// The status code, or nil when nothing answers.
  public static func status(_ url: String) async -> Int? {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 5
    guard let (_, response) = try? await URLSession.shared.data(for: request) else { return nil }
    return (response as? HTTPURLResponse)?.statusCode
  }

  /// The status code and body, or nil when nothing answers.
  public static func get(_ url: String) async -> (status: Int, body: String)? {
    var request = URLRequest(url: URL(string: url)!)
    request.timeoutInterval = 5
    guard let (data, response) = try? await URLSession.shared.data(for: request),
      let status = (response as? HTTPURLResponse)?.statusCode
    else { return nil }
    return (status, String(decoding: data, as: UTF8.self))
  }

  /// Polls until the status is `expected`; returns the last status seen.
  public static func waitForStatus(_ url: String, _ expected: Int, within limit: Duration) async throws -> Int? {
    let deadline = ContinuousClock.now + limit
    var last: Int?
    while ContinuousClock.now < deadline {
      last = await status(url)
      if last == expected { return last }
      try await Task.sleep(for: .milliseconds(200))
    }
    return last
  }
}
