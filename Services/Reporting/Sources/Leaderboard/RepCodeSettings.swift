import CRMReview
import CRMRuntime

/// The review code key (DESIGN §6), read at startup from `CRM_QC_CODE_KEY`, as activity reads
/// it: reporting codes the managers it knows with it to map QC scores back to people. The same
/// secret as activity's (32 bytes or more; its UTF-8 bytes are the key), never quality-control's.
struct RepCodeSettings: Sendable {
  static let variable = "CRM_QC_CODE_KEY"
  static let expected = "a secret of \(ReviewCodes.minimumKeyBytes) bytes or more, the same for activity and reporting"

  let codes: ReviewCodes

  init(environment: EnvironmentReader) throws(ConfigurationError) {
    let key = try environment.required(Self.variable, expected: Self.expected)
    do {
      codes = try ReviewCodes(key: Array(key.utf8))
    } catch {
      // The secret itself is never quoted.
      throw ConfigurationError(
        variable: Self.variable, problem: "is \(key.utf8.count) bytes long", expected: Self.expected)
    }
  }
}
