import CRMReview
import CRMRuntime

/// The key review codes are made with (DESIGN §6), read at startup from `CRM_QC_CODE_KEY`: a
/// secret of 32 bytes or more (its UTF-8 bytes are the HMAC key). Only activity, which makes the
/// codes, and reporting, which maps them back to people, are configured with it; never
/// quality-control. The same key on every replica and for ever: codes stay stable, so scores
/// per rep code accumulate.
public struct ReviewSettings: Sendable {
  static let variable = "CRM_QC_CODE_KEY"
  static let expected = "a secret of \(ReviewCodes.minimumKeyBytes) bytes or more, the same for activity and reporting"

  let codes: ReviewCodes

  public init(environment: EnvironmentReader) throws(ConfigurationError) {
    let key = try environment.required(Self.variable, expected: Self.expected)
    do {
      codes = try ReviewCodes(key: Array(key.utf8))
    } catch {
      // The secret itself is never quoted.
      throw ConfigurationError(
        variable: Self.variable, problem: "is \(key.utf8.count) bytes long", expected: Self.expected)
    }
  }

  /// For tools and tests that host the service in process.
  public init(key: [UInt8]) throws(InvalidCodeKey) {
    codes = try ReviewCodes(key: key)
  }
}
