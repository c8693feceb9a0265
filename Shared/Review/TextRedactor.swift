import CRMPhoneNumbers
import Foundation

/// Clears a meeting or call report of what would identify a person before it crosses the
/// quality-control wall (DESIGN §6): addresses, links, phone numbers in any spelling, long
/// numbers, and every name the producer knows. Fails closed: a text that still looks as if it
/// held a phone, an address or a known name afterwards is withheld, with the reason.
public struct TextRedactor: Sendable {
  public var names: KnownNames
  public var defaultRegion: String

  public init(names: KnownNames, defaultRegion: String = "RU") {
    self.names = names
    self.defaultRegion = defaultRegion
  }

  public enum Outcome: Sendable, Equatable {
    case cleared(String)
    /// Not cleared: why (a kind of a fixed list, never quoting the text).
    case withheld(Withheld)
  }

  /// Why a text could not be cleared: what it still seems to hold after redaction.
  public enum Withheld: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// Seven digits close together (a phone number?).
    case phone
    /// What looks like an e-mail address.
    case email
    /// What looks like a web address.
    case address
    /// A known name inside another word (or with an ending not foreseen).
    case name

    public var description: String {
      switch self {
      case .phone: "it still holds seven digits close together (a phone number?)"
      case .email: "it still holds what looks like an e-mail address"
      case .address: "it still holds what looks like a web address"
      case .name: "it still holds a known name inside another word"
      }
    }
  }

  // Patterns over the whole text; each match becomes its placeholder.
  static let email = try! NSRegularExpression(pattern: #"[\p{L}\p{N}._%+'-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+"#)
  static let url = try! NSRegularExpression(
    pattern:
      #"(?i)(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)\S+|\b[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.(?:ru|рф|su|com|net|org|info|biz|io|me|by|kz|ua|uz|pro|online|site|shop|рус)\b(?:/\S*)?"#
  )
  /// Five digits or more, whatever stands between them: tax numbers, passports, accounts.
  static let longNumber = try! NSRegularExpression(pattern: #"\d(?:[\s().\-/]*\d){4,}"#)
  static let word = try! NSRegularExpression(pattern: #"\p{L}+"#)

  /// What is left that still looks like a phone (seven digits within a short stretch), an
  /// address or a link.
  static let leftoverDigits = try! NSRegularExpression(pattern: #"\d(?:\D{0,3}\d){6,}"#)
  static let leftoverEmail = try! NSRegularExpression(pattern: #"@\s*[\p{L}\p{N}-]+\s*[.,]\s*\p{L}{2,}"#)
  static let leftoverAddress = try! NSRegularExpression(pattern: #"://|\bwww\b"#)

  public func redact(_ text: String) -> Outcome {
    var text = text
    replace(Self.email, with: "[EMAIL]", in: &text)
    replace(Self.url, with: "[URL]", in: &text)
    for range in PhoneNumber.ranges(in: text, defaultRegion: defaultRegion).reversed() {
      text.replaceSubrange(range, with: "[PHONE]")
    }
    replace(Self.longNumber, with: "[NUMBER]", in: &text)
    if !names.isEmpty {
      for match in matches(Self.word, in: text).reversed() {
        let range = Range(match.range, in: text)!
        if let role = names.role(of: text[range]) { text.replaceSubrange(range, with: role.placeholder) }
      }
    }
    if let reason = leftover(in: text) { return .withheld(reason) }
    return .cleared(text)
  }

  /// Why the redacted `text` cannot be cleared, if it cannot.
  func leftover(in text: String) -> Withheld? {
    let unmarked = Self.withoutPlaceholders(text)
    if !matches(Self.leftoverDigits, in: unmarked).isEmpty { return .phone }
    if !matches(Self.leftoverEmail, in: unmarked).isEmpty { return .email }
    if !matches(Self.leftoverAddress, in: unmarked).isEmpty { return .address }
    for match in matches(Self.word, in: unmarked) {
      if names.mentions(unmarked[Range(match.range, in: unmarked)!]) { return .name }
    }
    return nil
  }

  static let placeholder = try! NSRegularExpression(
    pattern: #"\[(?:EMAIL|URL|PHONE|NUMBER|CLIENT|COMPANY|REP|PERSON)\]"#)

  /// The text with its placeholders blanked (their letters are no one's name).
  static func withoutPlaceholders(_ text: String) -> String {
    placeholder.stringByReplacingMatches(
      in: text, range: NSRange(text.startIndex..., in: text), withTemplate: " ")
  }

  private func matches(_ pattern: NSRegularExpression, in text: String) -> [NSTextCheckingResult] {
    pattern.matches(in: text, range: NSRange(text.startIndex..., in: text))
  }

  private func replace(_ pattern: NSRegularExpression, with placeholder: String, in text: inout String) {
    text = pattern.stringByReplacingMatches(
      in: text, range: NSRange(text.startIndex..., in: text),
      withTemplate: NSRegularExpression.escapedTemplate(for: placeholder))
  }
}
