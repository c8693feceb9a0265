import CRMTestSupport
import Foundation

/// A headless Chromium driven over WebDriver's HTTP protocol (W3C), through Debian's
/// `chromedriver` started for the test on a port of its own.
final class WebDriver: Sendable {
  static let chromium = "/usr/bin/chromium"
  static let chromedriver = "/usr/bin/chromedriver"

  let driver: ChildProcess
  let base: URL
  let session: String

  /// Starts chromedriver and a browser session; fails naming the bootstrap when Chromium is missing.
  static func start() async throws -> WebDriver {
    for path in [chromium, chromedriver] where !FileManager.default.isExecutableFile(atPath: path) {
      throw Failure("\(path) is missing: deploy/local/bootstrap installs chromium and chromium-driver")
    }
    let port = freeLocalPort()
    let driver = try ChildProcess(
      URL(fileURLWithPath: chromedriver), arguments: ["--port=\(port)"],
      environment: ProcessInfo.processInfo.environment)
    let base = URL(string: "http://127.0.0.1:\(port)")!
    var ready = false
    for _ in 0..<100 where !ready {
      ready = ((try? await call(base, "GET", "/status"))?["ready"] as? Bool) == true
      if !ready { try await Task.sleep(for: .milliseconds(100)) }
    }
    guard ready else { throw Failure("chromedriver did not start: \(driver.standardError)") }
    let created = try await call(
      base, "POST", "/session",
      [
        "capabilities": [
          "alwaysMatch": [
            "browserName": "chrome",
            "goog:chromeOptions": [
              "binary": chromium,
              "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1000",
                "--lang=ru",
              ],
            ],
          ]
        ]
      ])
    guard let session = created["sessionId"] as? String else { throw Failure("no session: \(created)") }
    return WebDriver(driver: driver, base: base, session: session)
  }

  private init(driver: ChildProcess, base: URL, session: String) {
    self.driver = driver
    self.base = base
    self.session = session
  }

  func stop() async {
    _ = try? await Self.call(base, "DELETE", "/session/\(session)")
    driver.signal(SIGTERM)
    _ = try? await driver.waitForExit(within: .seconds(5))
  }

  func open(_ url: String) async throws { _ = try await command("POST", "/url", ["url": url]) }

  var currentURL: String { get async throws { try await value("GET", "/url") as? String ?? "" } }
  var source: String { get async throws { try await value("GET", "/source") as? String ?? "" } }

  func element(_ css: String) async throws -> String {
    let found = try await value("POST", "/element", ["using": "css selector", "value": css])
    guard let element = (found as? [String: Any])?["element-6066-11e4-a52e-4f735466cecf"] as? String else {
      throw Failure("no element \(css)")
    }
    return element
  }

  func type(_ text: String, into css: String) async throws {
    let element = try await element(css)
    _ = try await command("POST", "/element/\(element)/clear", [:])
    _ = try await command("POST", "/element/\(element)/value", ["text": text])
  }

  func click(_ css: String) async throws {
    _ = try await command("POST", "/element/\(try await element(css))/click", [:])
  }

  func text(_ css: String) async throws -> String {
    try await value("GET", "/element/\(try await element(css))/text") as? String ?? ""
  }

  /// A PNG of the page, written to `file`.
  func screenshot(to file: URL) async throws {
    guard let base64 = try await value("GET", "/screenshot") as? String, let png = Data(base64Encoded: base64) else {
      throw Failure("no screenshot")
    }
    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
    try png.write(to: file)
  }

  private func value(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> Any? {
    try await command(method, path, body)["__value"]
  }

  private func command(_ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> [String: Any] {
    try await Self.call(base, method, "/session/\(session)\(path)", body)
  }

  /// One WebDriver call; the reply's `value` (an object's keys, or any other value as `__value`).
  static func call(_ base: URL, _ method: String, _ path: String, _ body: [String: Any]? = nil) async throws
    -> [String: Any]
  {
    // Through curl: Foundation's URLSession here fails on chromedriver's replies ("Failed
    // writing header").
    var arguments = ["-sS", "-m", "60", "-X", method, "-w", "\n%{http_code}", base.absoluteString + path]
    if let body {
      let json = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
      arguments += ["-H", "Content-Type: application/json", "--data-binary", json]
    }
    let curl = try ChildProcess(URL(fileURLWithPath: "/usr/bin/curl"), arguments: arguments, environment: [:])
    guard try await curl.waitForExit(within: .seconds(70)) == 0 else {
      throw Failure("curl \(method) \(path): \(curl.standardError)")
    }
    let output = curl.standardOutput
    guard let split = output.lastIndex(of: "\n") else { throw Failure("curl \(method) \(path): \(output)") }
    let status = output[output.index(after: split)...]
    let data = Data(output[..<split].utf8)
    let reply = try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    let value = reply["value"]
    guard status == "200" else {
      throw Failure("WebDriver \(method) \(path): \(status) \(String(decoding: data, as: UTF8.self).prefix(500))")
    }
    var result = value as? [String: Any] ?? [:]
    result["__value"] = value
    return result
  }

  struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }
}
