import Crypto
import Foundation

/// The nameless codes that stand for people and deals behind the quality-control wall (DESIGN §6):
/// truncated HMAC-SHA256 of kind ‖ id under a key only activity (which makes them) and reporting
/// (which maps them back) hold, in base32. The same id always gets the same code, so scores per
/// rep code accumulate; without the key a code cannot be traced back, nor guessed from an id.
public struct ReviewCodes: Sendable {
  public enum Kind: String, Sendable, CaseIterable {
    case rep, client, company, deal
    case reviewItem = "item"
  }

  /// The shortest key accepted (bytes).
  public static let minimumKeyBytes = 32
  let key: SymmetricKey

  public init(key: [UInt8]) throws(InvalidCodeKey) {
    guard key.count >= Self.minimumKeyBytes else { throw InvalidCodeKey(bytes: key.count) }
    self.key = SymmetricKey(data: key)
  }

  /// The code of `id` as a `kind`: 16 base32 characters (80 bits).
  public func code(_ kind: Kind, _ id: String) -> String {
    var message = Data(kind.rawValue.utf8)
    message.append(0)  // kind and id apart: "rep" + "1x" never collides with "rep1" + "x"
    message.append(contentsOf: id.utf8)
    let mac = HMAC<SHA256>.authenticationCode(for: message, using: key)
    return Base32.encode(Array(mac.prefix(10)))
  }
}

public struct InvalidCodeKey: Error, CustomStringConvertible {
  public var bytes: Int
  public var description: String {
    "the review code key has \(bytes) bytes; it needs at least \(ReviewCodes.minimumKeyBytes)"
  }
}

/// RFC 4648 base32 without padding, upper case: codes that read aloud and survive any channel.
enum Base32 {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")

  static func encode(_ bytes: [UInt8]) -> String {
    var output = ""
    var buffer = 0
    var bits = 0
    for byte in bytes {
      buffer = (buffer << 8) | Int(byte)
      bits += 8
      while bits >= 5 {
        output.append(alphabet[(buffer >> (bits - 5)) & 31])
        bits -= 5
      }
    }
    if bits > 0 { output.append(alphabet[(buffer << (5 - bits)) & 31]) }
    return output
  }
}
