import CRMDomain
import Crypto
import Foundation

/// The signature of a webhook: `X-CRM-Timestamp: <unix seconds>` and
/// `X-CRM-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" under the shared secret>`.
/// The timestamp is inside the signed text, so an old request cannot be replayed with a new
/// one; it must be within `window` of the receiver's clock.
struct WebhookSignature: Sendable {
  static let timestampHeader = "X-CRM-Timestamp"
  static let signatureHeader = "X-CRM-Signature"
  static let scheme = "sha256="
  /// How far the sender's clock may be from ours, either way.
  static let window: TimeInterval = 300

  let key: SymmetricKey

  init(secret: [UInt8]) {
    key = SymmetricKey(data: secret)
  }

  /// The `X-CRM-Signature` value for `body` sent at `timestamp` (senders, tests, the bench).
  func sign(_ body: [UInt8], timestamp: Int64) -> String {
    let mac = HMAC<SHA256>.authenticationCode(for: Self.signed(body, timestamp: timestamp), using: key)
    return Self.scheme + Hex.lowercase(mac)
  }

  /// Accepts the request or says precisely why not (nothing is stored for a refused request).
  func verify(_ body: [UInt8], timestamp: String?, signature: String?, now: Date) throws(WebhookRefused) {
    guard let timestamp, !timestamp.isEmpty else {
      throw .unauthenticated("the \(Self.timestampHeader) header is missing")
    }
    guard let signature, !signature.isEmpty else {
      throw .unauthenticated("the \(Self.signatureHeader) header is missing")
    }
    guard timestamp.count <= 12, timestamp.allSatisfy(\.isASCIIDigit), let seconds = Int64(timestamp) else {
      throw .unauthenticated("\(Self.timestampHeader) is not unix seconds: \(Self.quoted(timestamp))")
    }
    let skew = now.timeIntervalSince1970 - TimeInterval(seconds)
    guard abs(skew) <= Self.window else {
      throw .unauthenticated(
        "\(Self.timestampHeader) \(seconds) is \(Int(abs(skew))) s \(skew > 0 ? "old" : "ahead"); "
          + "at most \(Int(Self.window)) s either way")
    }
    guard signature.hasPrefix(Self.scheme), let mac = Self.bytes(hex: signature.dropFirst(Self.scheme.count)),
      mac.count == SHA256.byteCount
    else {
      throw .unauthenticated("\(Self.signatureHeader) is not sha256=<64 hex digits>")
    }
    // Constant time: swift-crypto compares the whole code whatever differs first.
    guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Self.signed(body, timestamp: seconds), using: key)
    else {
      throw .unauthenticated(
        "\(Self.signatureHeader) does not match the body and timestamp (wrong secret or changed body)")
    }
  }

  static func signed(_ body: [UInt8], timestamp: Int64) -> [UInt8] {
    Array("\(timestamp).".utf8) + body
  }

  static func bytes(hex: Substring) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count % 2 == 0 else { return nil }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(digits.count / 2)
    for index in stride(from: 0, to: digits.count, by: 2) {
      guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
      bytes.append(high << 4 | low)
    }
    return bytes
  }

  private static func nibble(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
  }

  private static func quoted(_ value: String) -> String {
    "\"" + value.prefix(32).unicodeScalars.map { $0.isASCII && $0.value >= 32 ? String($0) : "?" }.joined() + "\""
  }
}

/// Why a webhook was refused: its HTTP status, a machine word and a sentence (and the field,
/// for bad content). Every refusal stores nothing.
struct WebhookRefused: Error, Equatable, CustomStringConvertible {
  var status: Int
  var error: String
  var field: String?
  var message: String

  static func unauthenticated(_ message: String) -> WebhookRefused {
    WebhookRefused(status: 401, error: "unauthenticated", field: nil, message: message)
  }

  static func invalid(_ field: String, _ reason: String) -> WebhookRefused {
    WebhookRefused(status: 400, error: "invalid_argument", field: field, message: "\(field): \(reason)")
  }

  var description: String { message }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
