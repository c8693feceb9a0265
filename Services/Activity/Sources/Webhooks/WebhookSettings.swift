import CRMRuntime
import Foundation

/// The webhooks' settings, from the environment:
/// - `CRM_WEBHOOK_SECRET` or `CRM_WEBHOOK_SECRET_FILE` (a file holding it): the shared secret the
///   providers sign with, 16 bytes or more. Without it the webhooks answer 503 and store nothing.
/// - `CRM_DEFAULT_PHONE_REGION`: where national numbers (`8 912 …`) are read (ISO 3166 code, `RU`).
/// - `CRM_WEBHOOK_MAX_BYTES`: the largest body accepted (65,536).
/// - `CRM_UNKNOWN_CALLER_LEAD_OWNER`: who owns a lead made from an unknown caller when the call
///   names no manager (`unassigned`).
struct WebhookSettings: Sendable {
  var secret: [UInt8]?
  var region: String
  var maxBytes: Int
  var leadOwner: String

  init(secret: [UInt8]?, region: String = "RU", maxBytes: Int = 65_536, leadOwner: String = "unassigned") {
    self.secret = secret
    self.region = region
    self.maxBytes = maxBytes
    self.leadOwner = leadOwner
  }

  init(environment: [String: String]) throws(ConfigurationError) {
    let env = EnvironmentReader(environment)
    let secretExpected = "a secret of 16 bytes or more shared with the telephony and mail providers"
    var secret: String?
    if let file = env.optional("CRM_WEBHOOK_SECRET_FILE") {
      guard let data = FileManager.default.contents(atPath: file) else {
        throw ConfigurationError(
          variable: "CRM_WEBHOOK_SECRET_FILE", problem: "names \(file), which cannot be read", expected: secretExpected)
      }
      secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    } else {
      secret = env.optional("CRM_WEBHOOK_SECRET")
    }
    if let given = secret, given.utf8.count < 16 {
      throw ConfigurationError(
        variable: environment["CRM_WEBHOOK_SECRET_FILE"] != nil ? "CRM_WEBHOOK_SECRET_FILE" : "CRM_WEBHOOK_SECRET",
        problem: "is shorter than 16 bytes", expected: secretExpected)
    }
    let region = env.optional("CRM_DEFAULT_PHONE_REGION")?.uppercased() ?? "RU"
    guard region.count == 2, region.allSatisfy({ $0.isASCII && $0.isLetter }) else {
      throw ConfigurationError(
        variable: "CRM_DEFAULT_PHONE_REGION", problem: "is \"\(region.prefix(16))\"",
        expected: "a two-letter ISO 3166 region, e.g. RU")
    }
    let owner = env.optional("CRM_UNKNOWN_CALLER_LEAD_OWNER") ?? "unassigned"
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    guard owner.count <= 64, owner.allSatisfy({ allowed.contains($0) }) else {
      throw ConfigurationError(
        variable: "CRM_UNKNOWN_CALLER_LEAD_OWNER", problem: "is \"\(owner.prefix(16))\"",
        expected: "a manager id (a-z 0-9 . _ -, at most 64)")
    }
    self.init(
      secret: secret.map { Array($0.utf8) }, region: region,
      maxBytes: try env.integer("CRM_WEBHOOK_MAX_BYTES", default: 65_536, in: 1024...1_048_576), leadOwner: owner)
  }
}
