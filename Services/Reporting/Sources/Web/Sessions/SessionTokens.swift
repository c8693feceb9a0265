import Crypto
import Foundation

/// Session ids and CSRF tokens: 32 random bytes in URL-safe base64 (cookie- and form-safe).
/// The server keeps only a session id's SHA-256, and compares tokens in constant time.
public enum SessionTokens {
  public static func random() -> String {
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
    return Data(bytes).base64EncodedString()
      .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
      .replacingOccurrences(of: "=", with: "")
  }

  /// What the database holds of a session id: its SHA-256 in hex.
  public static func hash(_ sessionID: String) -> String {
    SHA256.hash(data: Data(sessionID.utf8)).map { String(format: "%02x", $0) }.joined()
  }

  /// A random token's form: 43 of A-Z a-z 0-9 - _ (anything else is not ours and is not looked up).
  public static func wellFormed(_ token: String) -> Bool {
    token.utf8.count == 43
      && token.utf8.allSatisfy { byte in
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
          || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
      }
  }

  /// Equal, in time that does not depend on where they differ.
  public static func same(_ a: String, _ b: String) -> Bool {
    let left = Array(a.utf8)
    let right = Array(b.utf8)
    guard left.count == right.count else { return false }
    var difference: UInt8 = 0
    for index in left.indices { difference |= left[index] ^ right[index] }
    return difference == 0
  }
}
