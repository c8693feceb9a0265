import Foundation

/// A real SMTP server for a test: aiosmtpd (PyPI; `deploy/local/bootstrap` installs it in a
/// virtual environment under `.tools/smtp`) on 127.0.0.1, writing every message it takes into
/// a Maildir of the test's own. Recipients starting with `refused` get a permanent 550, those
/// starting with `busy` a temporary 451, as a real server would answer an unknown mailbox or a
/// full queue.
public final class SMTPTestServer: Sendable {
  public let port: Int
  public let mailDirectory: URL
  private let child: ChildProcess

  /// The virtual environment's Python, with aiosmtpd.
  public static var python: URL { LocalStack.repositoryRoot.appendingPathComponent(".tools/smtp/bin/python") }

  static let handler = """
    from aiosmtpd.handlers import Mailbox

    class Handler(Mailbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("refused"):
                return "550 5.1.1 <%s>: mailbox unavailable" % address
            if address.startswith("busy"):
                return "451 4.3.0 <%s>: try again later" % address
            envelope.rcpt_tos.append(address)
            return "250 OK"
    """

  /// Starts the server on `port` (a free one when nil) and waits until it accepts connections;
  /// `mailDirectory` (a fresh one when nil) may be an earlier server's, to go on where it stopped.
  public init(port: Int? = nil, mailDirectory: URL? = nil) async throws {
    guard FileManager.default.isExecutableFile(atPath: Self.python.path) else {
      throw NotInstalled(path: Self.python.path)
    }
    let folder =
      mailDirectory
      ?? FileManager.default.temporaryDirectory.appendingPathComponent("crm-smtp-\(UUID().uuidString)")
    self.mailDirectory = folder
    let code = folder.appendingPathComponent("handler")
    try FileManager.default.createDirectory(at: code, withIntermediateDirectories: true)
    try Self.handler.write(to: code.appendingPathComponent("crm_test_smtp.py"), atomically: true, encoding: .utf8)
    // A free port may be taken by another test before the server binds it: then another one
    // (only when the caller named none).
    var attempt = 0
    while true {
      attempt += 1
      let chosen = port ?? freeLocalPort()
      let child = try ChildProcess(
        Self.python,
        arguments: [
          "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:\(chosen)", "-c", "crm_test_smtp.Handler",
          folder.appendingPathComponent("maildir").path,
        ],
        environment: ["PATH": "/usr/bin:/bin", "PYTHONPATH": code.path, "PYTHONDONTWRITEBYTECODE": "1"])
      let deadline = ContinuousClock.now + .seconds(20)
      var started = true
      while !PrivateBroker.accepts(port: chosen) {
        guard ContinuousClock.now < deadline, child.process.isRunning else {
          started = false
          break
        }
        try await Task.sleep(for: .milliseconds(50))
      }
      if started {
        self.port = chosen
        self.child = child
        return
      }
      child.signal(SIGKILL)
      let portTaken = child.standardError.contains("address already in use")
      guard port == nil, portTaken, attempt < 5 else { throw DidNotStart(stderr: child.standardError) }
    }
  }

  public var url: String { "smtp://127.0.0.1:\(port)" }

  /// Stops the server (its messages stay in `mailDirectory`).
  public func stop() async throws {
    child.signal(SIGKILL)
    _ = try await child.waitForExit(within: .seconds(5))
  }

  deinit { child.signal(SIGKILL) }

  /// The messages taken so far, oldest first.
  public func messages() throws -> [ReceivedMail] {
    let new = mailDirectory.appendingPathComponent("maildir/new")
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: new.path) else { return [] }
    let files = try names.map { name -> (Date, Data) in
      let file = new.appendingPathComponent(name)
      let modified = try FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date
      return (modified ?? .distantPast, try Data(contentsOf: file))
    }
    return files.sorted { $0.0 < $1.0 }.map { ReceivedMail(raw: String(decoding: $0.1, as: UTF8.self)) }
  }

  /// Waits until at least `count` messages arrived.
  public func waitForMessages(_ count: Int, within limit: Duration = .seconds(20)) async throws -> [ReceivedMail] {
    let deadline = ContinuousClock.now + limit
    while true {
      let received = try messages()
      if received.count >= count { return received }
      guard ContinuousClock.now < deadline else { throw TooFewMessages(expected: count, received: received.count) }
      try await Task.sleep(for: .milliseconds(100))
    }
  }

  struct NotInstalled: Error, CustomStringConvertible {
    var path: String
    var description: String { "aiosmtpd is not installed at \(path): run deploy/local/bootstrap" }
  }

  struct DidNotStart: Error, CustomStringConvertible {
    var stderr: String
    var description: String { "aiosmtpd did not accept connections within 20 s: \(stderr)" }
  }

  struct TooFewMessages: Error, CustomStringConvertible {
    var expected: Int
    var received: Int
    var description: String { "the SMTP server received \(received) messages, expected \(expected)" }
  }
}

/// One message as the SMTP server stored it: headers (unfolded, encoded words decoded), the
/// envelope as aiosmtpd recorded it (`X-MailFrom`, `X-RcptTo`), the body decoded.
public struct ReceivedMail: Sendable {
  public let raw: String
  public let headers: [(name: String, value: String)]
  public let body: String

  init(raw: String) {
    self.raw = raw
    let normalized = raw.replacingOccurrences(of: "\r\n", with: "\n")
    let split = normalized.range(of: "\n\n")
    let head = split.map { String(normalized[..<$0.lowerBound]) } ?? normalized
    let rest = split.map { String(normalized[$0.upperBound...]) } ?? ""
    var headers: [(String, String)] = []
    for line in head.split(separator: "\n", omittingEmptySubsequences: false) {
      if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
        headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespaces)
      } else if let colon = line.firstIndex(of: ":") {
        headers.append(
          (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
      }
    }
    self.headers = headers.map { ($0.0, Self.decodeWords($0.1)) }
    let encoding = headers.first { $0.0.lowercased() == "content-transfer-encoding" }?.1.lowercased()
    if encoding == "base64", let data = Data(base64Encoded: rest.filter { !$0.isWhitespace }) {
      body = String(decoding: data, as: UTF8.self)
    } else {
      body = rest
    }
  }

  public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
  public var subject: String? { header("Subject") }
  public var envelopeFrom: String? { header("X-MailFrom") }
  public var envelopeRecipients: String? { header("X-RcptTo") }

  /// RFC 2047 `=?UTF-8?B?…?=` words decoded; the space between two words dropped.
  static func decodeWords(_ value: String) -> String {
    let parts = value.components(separatedBy: " ")
    var out = ""
    var previousWasWord = false
    for (index, part) in parts.enumerated() {
      if part.hasPrefix("=?"), part.hasSuffix("?="), part.lowercased().hasPrefix("=?utf-8?b?") {
        let encoded = String(part.dropFirst(10).dropLast(2))
        if index > 0 && !previousWasWord { out += " " }
        out += String(decoding: Data(base64Encoded: encoded) ?? Data(), as: UTF8.self)
        previousWasWord = true
      } else {
        if index > 0 { out += " " }
        out += part
        previousWasWord = false
      }
    }
    return out
  }
}
