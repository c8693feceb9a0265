/// Lower-case hexadecimal of bytes (digests, signatures): two digits a byte, as
/// `String(format: "%02x")` writes them, without its cost (a formatted string per byte was
/// measured at a few percent of a LogActivity's CPU: two digests per request).
public enum Hex {
  static let digits = Array("0123456789abcdef".utf8)

  public static func lowercase(_ bytes: some Sequence<UInt8>) -> String {
    var text: [UInt8] = []
    text.reserveCapacity(bytes.underestimatedCount * 2)
    for byte in bytes {
      text.append(digits[Int(byte >> 4)])
      text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
  }
}
