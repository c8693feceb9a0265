import CRMMail
import CRMRuntime
import Foundation

/// The SMTP server the service sends through, from `CRM_SMTP_…`; nil without `CRM_SMTP_URL`
/// (mail is then logged, not sent). Every problem names its variable, so a bad setting stops
/// the service at start instead of failing each send.
enum MailConfiguration {
  static func read(_ env: EnvironmentReader) throws(ConfigurationError) -> SMTPSettings? {
    let others = ["CRM_SMTP_FROM", "CRM_SMTP_USER", "CRM_SMTP_PASSWORD_FILE", "CRM_SMTP_STARTTLS"]
    guard let urlText = env.optional("CRM_SMTP_URL") else {
      if let stray = others.first(where: { env.optional($0) != nil }) {
        throw ConfigurationError(
          variable: "CRM_SMTP_URL", problem: "is not set while \(stray) is", expected: SMTPSettings.expectedURL)
      }
      return nil
    }
    let url: String
    switch SMTPSettings.checkedURL(urlText) {
    case .success(let checked): url = checked
    case .failure(let problem):
      throw ConfigurationError(variable: "CRM_SMTP_URL", problem: problem.reason, expected: SMTPSettings.expectedURL)
    }
    let fromExpected = "an address or \"Name <address>\", e.g. Sales <sales@example.com>"
    let (fromName, fromText) = try sender(try env.required("CRM_SMTP_FROM", expected: fromExpected))
    let from: MailAddress
    switch MailAddress.parse(fromText) {
    case .success(let address): from = address
    case .failure(let problem):
      throw ConfigurationError(
        variable: "CRM_SMTP_FROM", problem: "holds \"\(fromText)\", which is not an address: \(problem)",
        expected: fromExpected)
    }
    let user = env.optional("CRM_SMTP_USER")
    let passwordFile = env.optional("CRM_SMTP_PASSWORD_FILE")
    var password: String?
    switch (user, passwordFile) {
    case (nil, nil): password = nil
    case (nil, _?):
      throw ConfigurationError(
        variable: "CRM_SMTP_USER", problem: "is not set while CRM_SMTP_PASSWORD_FILE is", expected: "both or neither")
    case (_?, nil):
      throw ConfigurationError(
        variable: "CRM_SMTP_PASSWORD_FILE", problem: "is not set while CRM_SMTP_USER is",
        expected: "a file holding the SMTP password")
    case (_?, let file?):
      guard let data = FileManager.default.contents(atPath: file) else {
        throw ConfigurationError(
          variable: "CRM_SMTP_PASSWORD_FILE", problem: "names \(file), which cannot be read",
          expected: "a file holding the SMTP password")
      }
      password = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .newlines)
    }
    let requireTLS = try env.choice(
      "CRM_SMTP_STARTTLS", default: user != nil, from: ["required": true, "optional": false])
    if user != nil && !requireTLS && url.lowercased().hasPrefix("smtp:") {
      throw ConfigurationError(
        variable: "CRM_SMTP_STARTTLS", problem: "is optional while CRM_SMTP_USER is set",
        expected: "required (a password never crosses the network in clear), or an smtps:// URL")
    }
    let timeout = try env.integer("CRM_SMTP_TIMEOUT_S", default: 30, in: 1...300)
    return SMTPSettings(
      url: url, from: from, fromName: fromName, username: user, password: password, timeout: .seconds(timeout),
      requireTLS: requireTLS)
  }

  /// `Name <address>` or `address`: the display name (may be empty) and the address.
  static func sender(_ text: String) throws(ConfigurationError) -> (name: String, address: String) {
    guard text.hasSuffix(">"), let open = text.lastIndex(of: "<") else { return ("", text) }
    var name = text[..<open].trimmingCharacters(in: .whitespaces)
    if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 { name = String(name.dropFirst().dropLast()) }
    guard name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }), name.count <= 100 else {
      throw ConfigurationError(
        variable: "CRM_SMTP_FROM", problem: "has a display name with control characters or over 100 characters",
        expected: "\"Name <address>\"")
    }
    return (name, String(text[text.index(after: open)..<text.index(before: text.endIndex)]))
  }
}
