/// An e-mail address that may go into an SMTP envelope and a header as it is: ASCII
/// `local@domain`, the local part a dot-atom (RFC 5322 `atext` and dots) and the domain
/// letters, digits and hyphens in dotted labels. Anything else (quoted local parts, comments,
/// non-ASCII without its punycode form) is refused: none of it can smuggle a header or a
/// second recipient through.
public struct MailAddress: Sendable, Hashable, CustomStringConvertible {
  public let text: String

  /// Why `raw` is not such an address, or the address (trimmed; the domain lower-cased).
  public static func parse(_ raw: String) -> Result<MailAddress, MailAddressProblem> {
    let trimmed = raw.trimmingCharacters(in: .whitespaces)
    if trimmed.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) { return .failure(.lineBreak) }
    guard !trimmed.isEmpty else { return .failure(.empty) }
    guard trimmed.utf8.count <= 254 else { return .failure(.tooLong) }
    guard trimmed.unicodeScalars.allSatisfy(\.isASCII) else { return .failure(.notASCII) }
    let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2 else { return .failure(.shape) }
    let local = parts[0]
    let domain = parts[1].lowercased()
    let atext = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-")
    guard !local.isEmpty, local.utf8.count <= 64,
      local.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({
        !$0.isEmpty && $0.allSatisfy(atext.contains)
      })
    else { return .failure(.localPart) }
    let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
    let label = Set("abcdefghijklmnopqrstuvwxyz0123456789-")
    guard labels.count >= 2,
      labels.allSatisfy({
        !$0.isEmpty && $0.count <= 63 && !$0.hasPrefix("-") && !$0.hasSuffix("-") && $0.allSatisfy(label.contains)
      }),
      labels.last!.contains(where: \.isLetter)
    else { return .failure(.domain) }
    return .success(MailAddress(text: "\(local)@\(domain)"))
  }

  private init(text: String) { self.text = text }

  public var domain: String { String(text[text.index(after: text.firstIndex(of: "@")!)...]) }
  public var description: String { text }
}

/// Why a text is not a usable address; `description` completes "… is not an address: ".
public enum MailAddressProblem: Error, Sendable, Equatable, CustomStringConvertible {
  case empty, lineBreak, tooLong, notASCII, shape, localPart, domain

  public var description: String {
    switch self {
    case .empty: "it is empty"
    case .lineBreak: "it holds a line break (a header cannot: refused as header injection)"
    case .tooLong: "it is longer than 254 bytes"
    case .notASCII: "it is not ASCII (give an internationalised domain in its xn-- form)"
    case .shape: "expected exactly one @ between a local part and a domain"
    case .localPart: "the part before @ must be dot-separated letters, digits and !#$%&'*+/=?^_`{|}~-"
    case .domain: "the domain must be dot-separated labels of letters, digits and hyphens"
    }
  }
}
