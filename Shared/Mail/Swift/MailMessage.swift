import Foundation

/// A plain-text e-mail rendered as RFC 5322 bytes: UTF-8 throughout (subject and display
/// name as RFC 2047 encoded words, the body base64), CRLF line ends, lines within 78
/// characters. Rendered once and stored, so a resend is the same bytes with the same
/// Message-ID, which receivers recognise.
public struct MailMessage: Sendable {
  public var from: MailAddress
  public var fromName: String
  public var to: MailAddress
  public var subject: String
  public var body: String
  /// Without angle brackets, e.g. `4f1c…@crm.example.com`.
  public var messageID: String
  public var date: Date

  public init(
    from: MailAddress, fromName: String = "", to: MailAddress, subject: String, body: String, messageID: String,
    date: Date
  ) {
    self.from = from
    self.fromName = fromName
    self.to = to
    self.subject = subject
    self.body = body
    self.messageID = messageID
    self.date = date
  }

  /// A Message-ID for the mail with id `id` sent from `from`: stable for that mail.
  public static func messageID(for id: UUID, from: MailAddress) -> String {
    "\(id.uuidString.lowercased())@\(from.domain)"
  }

  public var rendered: [UInt8] {
    var lines = [
      "Date: \(Self.dateText(date))",
      "From: " + (fromName.isEmpty ? from.text : Self.fold(Self.phrase(fromName), "<\(from.text)>", after: 6)),
      "To: \(to.text)",
      "Subject: \(Self.encodedWords(subject))",
      "Message-ID: <\(messageID)>",
      "MIME-Version: 1.0",
      "Content-Type: text/plain; charset=UTF-8",
      "Content-Transfer-Encoding: base64",
      "",
    ]
    let canonical = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
    let encoded = Data(canonical.utf8).base64EncodedString()
    var start = encoded.startIndex
    while start < encoded.endIndex {
      let end = encoded.index(start, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
      lines.append(String(encoded[start..<end]))
      start = end
    }
    return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
  }

  /// RFC 5322 date-time in UTC, e.g. `Tue, 01 Dec 2026 09:00:00 +0000`.
  static func dateText(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
    return formatter.string(from: date)
  }

  /// `first` and `second` on one line when it stays within 78 characters after a header name
  /// of `after` characters, else `second` on a folded line of its own.
  static func fold(_ first: String, _ second: String, after: Int) -> String {
    let lastLine = first.components(separatedBy: "\r\n").last ?? first
    let used = (first.contains("\r\n") ? 0 : after) + lastLine.utf8.count
    return used + 1 + second.utf8.count <= 78 ? "\(first) \(second)" : "\(first)\r\n \(second)"
  }

  /// A header text as is when it is short printable ASCII, else as UTF-8 encoded words of at
  /// most 64 characters each (so that "Subject: " and the first fit in 78), folded one per
  /// line; a character is never split between words.
  static func encodedWords(_ text: String) -> String {
    let plain = text.unicodeScalars.allSatisfy { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }
    if plain && text.utf8.count <= 60 && !text.contains("=?") { return text }
    var words: [String] = []
    var chunk: [UInt8] = []
    for character in text {
      let bytes = Array(String(character).utf8)
      if chunk.count + bytes.count > 39 && !chunk.isEmpty {
        words.append(word(chunk))
        chunk = []
      }
      chunk += bytes
    }
    if !chunk.isEmpty || words.isEmpty { words.append(word(chunk)) }
    return words.joined(separator: "\r\n ")
  }

  private static func word(_ bytes: [UInt8]) -> String { "=?UTF-8?B?\(Data(bytes).base64EncodedString())?=" }

  /// A display name: a quoted string when ASCII, else encoded words.
  static func phrase(_ name: String) -> String {
    guard name.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F }), name.utf8.count <= 60
    else { return encodedWords(name) }
    return "\"" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
  }
}
