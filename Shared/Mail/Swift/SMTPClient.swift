import CCurlSMTP
import Dispatch
import Foundation

/// Where and how mail is sent (read from `CRM_SMTP_…` by the service that sends).
public struct SMTPSettings: Sendable {
  /// `smtp://host[:port]` or `smtps://host[:port]`, checked by `checkedURL`.
  public var url: String
  public var from: MailAddress
  public var fromName: String
  public var username: String?
  public var password: String?
  public var timeout: Duration
  /// `smtp://` only: refuse a server that offers no STARTTLS (always with credentials, so a
  /// password never crosses the network in clear).
  public var requireTLS: Bool

  public init(
    url: String, from: MailAddress, fromName: String = "", username: String? = nil, password: String? = nil,
    timeout: Duration = .seconds(30), requireTLS: Bool = false
  ) {
    self.url = url
    self.from = from
    self.fromName = fromName
    self.username = username
    self.password = password
    self.timeout = timeout
    self.requireTLS = requireTLS || username != nil
  }

  public static let expectedURL = "smtp://host:port or smtps://host:port (credentials in CRM_SMTP_USER and a file)"

  /// `text` when it is an SMTP URL libcurl may be given; else why not.
  public static func checkedURL(_ text: String) -> Result<String, URLProblem> {
    guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased() else {
      return .failure(URLProblem(reason: "is not a URL"))
    }
    guard scheme == "smtp" || scheme == "smtps" else {
      return .failure(URLProblem(reason: "has scheme \"\(scheme)\""))
    }
    guard let host = parts.host, !host.isEmpty else { return .failure(URLProblem(reason: "names no host")) }
    guard parts.user == nil, parts.password == nil else {
      return .failure(URLProblem(reason: "holds credentials (they would be logged with it)"))
    }
    guard parts.query == nil, parts.fragment == nil else {
      return .failure(URLProblem(reason: "has a query or fragment"))
    }
    if let port = parts.port, !(1...65535).contains(port) {
      return .failure(URLProblem(reason: "has port \(port)"))
    }
    return .success(text)
  }

  public struct URLProblem: Error, Sendable, Equatable { public var reason: String }
}

/// How a send ended.
public enum SMTPOutcome: Sendable, Equatable {
  /// The server took the message; its reply.
  case sent(String)
  /// Not sent now, may be later: the server unreachable or busy (4xx), a refused login.
  case transient(String)
  /// The server refused this message for good (5xx): sending it again changes nothing.
  case permanent(String)
}

/// Sends mail through libcurl's SMTP client. Each send blocks a thread until the server
/// answered or the timeout passed, so it runs on the client's own serial queue, never on
/// Swift's cooperative pool (as the Kafka client does with its blocking calls).
public final class SMTPClient: Sendable {
  public let settings: SMTPSettings
  private let queue = DispatchQueue(label: "crm.mail.smtp")

  /// libcurl's global set-up, once per process, before the first handle.
  private static let initialised: Bool = crm_smtp_global_init() == 0

  public init(settings: SMTPSettings) {
    self.settings = settings
  }

  /// Sends `message` (rendered, CRLF) from the configured sender to `recipient`.
  public func send(_ message: [UInt8], to recipient: MailAddress) async -> SMTPOutcome {
    let settings = settings
    return await withCheckedContinuation { continuation in
      queue.async { continuation.resume(returning: Self.sendBlocking(message, to: recipient, settings: settings)) }
    }
  }

  private static func sendBlocking(_ message: [UInt8], to recipient: MailAddress, settings: SMTPSettings)
    -> SMTPOutcome
  {
    guard initialised else { return .transient("libcurl's global initialisation failed") }
    var code = 0
    let capacity = 1024
    var reason = [CChar](repeating: 0, count: capacity)
    let seconds = max(1, Int(settings.timeout.components.seconds))
    let outcome = message.withUnsafeBufferPointer { bytes in
      bytes.withMemoryRebound(to: CChar.self) { text in
        withOptionalCString(settings.username) { username in
          withOptionalCString(settings.password) { password in
            var request = crm_smtp_request(
              url: nil, username: username, password: password, mail_from: nil, recipient: nil,
              message: text.baseAddress, message_length: text.count, timeout_seconds: seconds,
              require_tls: settings.requireTLS ? 1 : 0)
            return settings.url.withCString { url in
              settings.from.text.withCString { from in
                recipient.text.withCString { to in
                  request.url = url
                  request.mail_from = from
                  request.recipient = to
                  return crm_smtp_send(&request, &code, &reason, capacity)
                }
              }
            }
          }
        }
      }
    }
    let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    switch outcome {
    case CRM_SMTP_SENT: return .sent(text)
    case CRM_SMTP_PERMANENT: return .permanent(text)
    default: return .transient(text)
    }
  }
}

private func withOptionalCString<Result>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> Result) -> Result {
  guard let text else { return body(nil) }
  return text.withCString { body($0) }
}
