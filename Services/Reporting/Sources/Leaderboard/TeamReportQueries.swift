import CRMContracts
import CRMDomain
import CRMReview
import Foundation

/// The requests of the discipline, card completeness, QC and leaderboard reports, checked.
struct DisciplineQuery: Equatable, Sendable {
  var period: ReportPeriod
  var managerID: String?
  var visibility: Visibility
}

struct CardCompletenessQuery: Equatable, Sendable {
  var managerID: String?
  var visibility: Visibility
}

struct QualityQuery: Sendable {
  enum Bucket: String, Sendable {
    case week, month
  }

  var period: ReportPeriod
  var managerID: String?
  var bucket: Bucket
  var visibility: Visibility
  /// The key rep codes are mapped back with; nil: every code stays a code.
  var codes: ReviewCodes?

  static func bucket(_ value: Crm_Reporting_V1_ScoreBucket, _ field: String) throws(InvalidField) -> Bucket {
    switch value {
    case .unspecified, .week: .week
    case .month: .month
    case .UNRECOGNIZED(let raw):
      throw InvalidField(field: field, reason: "is \(raw); expected WEEK, MONTH or unspecified")
    }
  }
}

struct LeaderboardQuery: Sendable {
  var period: ReportPeriod
  /// nil: the currency of the most won deals in the period.
  var currency: String?
  var visibility: Visibility
  var codes: ReviewCodes?

  /// Three capital letters (ISO 4217's shape), or empty for none.
  static func currency(_ value: String, _ field: String) throws(InvalidField) -> String? {
    if value.isEmpty { return nil }
    guard value.count == 3, value.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
      throw InvalidField(field: field, reason: "is \(Text.quoted(value)); expected three capital letters (ISO 4217)")
    }
    return value
  }
}
