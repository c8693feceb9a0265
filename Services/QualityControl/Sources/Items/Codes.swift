import CRMDomain

/// Pseudonymous codes (DESIGN §6): truncated HMAC-SHA256 in RFC 4648 base32 without padding,
/// made outside quality-control. Only their form is checked here: anything else in a code
/// field (a name, a phone, an id of another service) never enters the database.
enum Codes {
  static let lengths = 8...64

  /// `value` when it is a code; INVALID_ARGUMENT naming `field` otherwise (empty only when
  /// not `required`).
  static func check(_ value: String, _ field: String, required: Bool = true) throws(InvalidField) -> String {
    if value.isEmpty && !required { return "" }
    guard lengths.contains(value.utf8.count), value.utf8.allSatisfy(isBase32) else {
      throw InvalidField(
        field: field,
        reason: "is not a code (\(lengths.lowerBound) to \(lengths.upperBound) of A-Z and 2-7, base32 without padding)")
    }
    return value
  }

  private static func isBase32(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "2")...UInt8(ascii: "7")).contains(byte)
  }
}
