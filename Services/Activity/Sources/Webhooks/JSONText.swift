/// A flat JSON object of strings written by hand, keys sorted, escaped as `JSONEncoder` escapes
/// (`"`, `\`, `/` and control characters): the webhooks write two per request (the stored
/// details, the reply), and Foundation's encoders were a tenth of a webhook's CPU in the bench.
enum JSONText {
  /// `{"a":"…","b":"…"}` of the pairs with a value, in key order.
  static func object(_ pairs: [(key: String, value: String?)]) -> String {
    var text = "{"
    for (key, value) in pairs.sorted(by: { $0.key < $1.key }) {
      guard let value else { continue }
      if text.utf8.count > 1 { text += "," }
      append(key, to: &text)
      text += ":"
      append(value, to: &text)
    }
    return text + "}"
  }

  static func object(_ dictionary: [String: String]) -> String {
    object(dictionary.map { (key: $0.key, value: Optional($0.value)) })
  }

  private static func append(_ string: String, to text: inout String) {
    text += "\""
    for scalar in string.unicodeScalars {
      switch scalar {
      case "\"": text += "\\\""
      case "\\": text += "\\\\"
      case "/": text += "\\/"
      case "\n": text += "\\n"
      case "\r": text += "\\r"
      case "\t": text += "\\t"
      case "\u{08}": text += "\\b"
      case "\u{0C}": text += "\\f"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: text.unicodeScalars.append(scalar)
      }
    }
    text += "\""
  }
}
