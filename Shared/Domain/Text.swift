import Foundation

/// Checks of texts from the wire (DESIGN §8): every service's input rules stand on these.
public enum Text {
  /// Trimmed `value`, at most `limit` characters and `4 × limit` UTF-8 bytes (a character may
  /// stack any number of combining marks: characters alone bound nothing); `required` refuses
  /// an empty one. Control characters are refused (newline and tab only in a `multiline` text),
  /// and so are bidirectional embeddings, overrides and isolates, which make a text display
  /// other than it reads (e.g. a file name or an amount in a note).
  public static func field(
    _ value: String, _ name: String, limit: Int, required: Bool = false, multiline: Bool = false
  ) throws(InvalidField) -> String {
    // Windows line ends are line ends; a lone carriage return is a control character.
    let lines = multiline ? value.replacingOccurrences(of: "\r\n", with: "\n") : value
    let trimmed = lines.trimmingCharacters(in: .whitespacesAndNewlines)
    if required && trimmed.isEmpty { throw InvalidField(field: name, reason: "is empty") }
    let bytes = trimmed.utf8.count
    guard bytes <= 4 * limit else {
      throw InvalidField(field: name, reason: "has \(bytes) bytes; at most \(4 * limit) (UTF-8)")
    }
    guard trimmed.count <= limit else {
      throw InvalidField(field: name, reason: "has \(trimmed.count) characters; at most \(limit)")
    }
    if let bad = trimmed.unicodeScalars.first(where: { !allowed($0, multiline: multiline) }) {
      throw InvalidField(field: name, reason: "holds \(describe(bad)), which a text may not hold")
    }
    return trimmed
  }

  public static func allowed(_ scalar: Unicode.Scalar, multiline: Bool) -> Bool {
    switch scalar.value {
    case 0x0A, 0x09, 0x2028, 0x2029: multiline  // line breaks and tabs in long texts only
    case 0x00...0x1F, 0x7F...0x9F: false  // C0 and C1 controls, NUL among them
    case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: false  // bidi controls and marks
    case 0x200B, 0x2060, 0xFEFF, 0xE0000...0xE007F: false  // invisible: zero-width space, word joiner, BOM, tags
    case 0xFDD0...0xFDEF, 0xFFFE, 0xFFFF: false  // noncharacters
    default: true
    }
  }

  static func describe(_ scalar: Unicode.Scalar) -> String {
    let code = "U+" + String(scalar.value, radix: 16, uppercase: true).leftPadded(to: 4)
    switch scalar.value {
    case 0x00: return "a NUL character (\(code))"
    case 0x0A, 0x09: return "a line break or tab (\(code)) in a one-line field"
    case 0x2028, 0x2029: return "a line or paragraph separator (\(code)) in a one-line field"
    case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: return "a bidirectional control (\(code))"
    case 0x200B, 0x2060, 0xFEFF, 0xE0000...0xE007F: return "an invisible character (\(code))"
    case 0xFDD0...0xFDEF, 0xFFFE, 0xFFFF: return "a noncharacter (\(code))"
    default: return "a control character (\(code))"
    }
  }
}

extension String {
  fileprivate func leftPadded(to width: Int) -> String {
    count >= width ? self : String(repeating: "0", count: width - count) + self
  }
}

extension Text {
  /// `value` quoted for an error message: cut at 64 characters and with control characters
  /// escaped, so an answer never echoes a hostile payload back at length.
  public static func quoted(_ value: String) -> String {
    let cut = value.count > 64 ? String(value.prefix(64)) + "…" : value
    let escaped = cut.unicodeScalars.map {
      allowed($0, multiline: false) ? String($0) : "\\u{\(String($0.value, radix: 16))}"
    }
    return "\"" + escaped.joined() + "\""
  }
}
