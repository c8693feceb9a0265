import CRMContracts
import CRMDomain
import CRMIdentity
import Foundation
import SwiftProtobuf

/// Whose rows a caller sees: a manager his own (and the team totals, which every reply
/// carries); a head of sales and operators everyone's.
enum Visibility: Equatable, Sendable {
  case everyone
  case manager(String)

  init(_ principal: Principal) {
    self = principal.actsForEveryone ? .everyone : .manager(principal.subject)
  }

  /// Whether a manager's row of `owner` is shown under the request's owner filter (nil: all).
  func shows(_ owner: String, filter: String?) -> Bool {
    (filter == nil || filter == owner) && sees(owner)
  }

  /// Whether a manager's row of `owner` is shown.
  func sees(_ owner: String) -> Bool {
    switch self {
    case .everyone: true
    case .manager(let id): id == owner
    }
  }

  /// The one owner whose deals are listed, nil for everyone's.
  var onlyOwner: String? {
    switch self {
    case .everyone: nil
    case .manager(let id): id
    }
  }
}

/// [from, to) of a request; either end may be open.
struct ReportPeriod: Hashable, Sendable {
  var from: Date?
  var to: Date?

  static let all = ReportPeriod(from: nil, to: nil)

  init(from: Date?, to: Date?) {
    self.from = from
    self.to = to
  }

  init(_ period: Crm_Reporting_V1_Period, field: String) throws(InvalidField) {
    try period.requireKnownFields(field)
    from = period.hasFrom ? try ReportInput.instant(period.from, field + ".from") : nil
    to = period.hasTo ? try ReportInput.instant(period.to, field + ".to") : nil
    if let from, let to, from >= to {
      throw InvalidField(field: field, reason: "from is not before to; the period is [from, to)")
    }
  }
}

/// The checks of report requests' fields.
enum ReportInput {
  /// An id filter: empty is no filter (nil).
  static func filter(_ value: String, _ field: String) throws(InvalidField) -> String? {
    let checked = try Text.field(value, field, limit: ProjectedChange.idLength)
    return checked.isEmpty ? nil : checked
  }

  static func required(_ value: String, _ field: String) throws(InvalidField) -> String {
    try Text.field(value, field, limit: ProjectedChange.idLength, required: true)
  }

  /// An instant between 1970 and 9999 (whole nanoseconds in range).
  static func instant(_ timestamp: Google_Protobuf_Timestamp, _ field: String) throws(InvalidField) -> Date {
    try timestamp.requireKnownFields(field)
    guard (0...253_402_300_799).contains(timestamp.seconds), (0..<1_000_000_000).contains(timestamp.nanos) else {
      throw InvalidField(field: field, reason: "is \(timestamp.seconds) s \(timestamp.nanos) ns; outside 1970 to 9999")
    }
    return timestamp.date
  }

  static func kind(_ kind: Crm_Deals_V1_DealKind, _ field: String) throws(InvalidField) -> String? {
    switch kind {
    case .unspecified: nil
    case .consultative: "consultative"
    case .active: "active"
    case .UNRECOGNIZED(let value):
      throw InvalidField(field: field, reason: "is \(value); expected CONSULTATIVE, ACTIVE or unspecified (both)")
    }
  }
}

struct FunnelQuery: Equatable, Sendable {
  var pipelineID: String
  var period: ReportPeriod
  var kind: String?
  var source: String?
  var ownerID: String?
  var visibility: Visibility
}

struct LeadFunnelQuery: Equatable, Sendable {
  var period: ReportPeriod
  var businessLine: String?
  var source: String?
  var ownerID: String?
  var visibility: Visibility
}

struct LossesQuery: Equatable, Sendable {
  var pipelineID: String?
  var period: ReportPeriod
  var ownerID: String?
  var visibility: Visibility
}

struct StalledQuery: Equatable, Sendable {
  static let maximumDays = 3_650

  var days: Int
  var asOf: Date
  var pipelineID: String?
  var stageID: String?
  var ownerID: String?
  var visibility: Visibility

  /// Deals untouched since before this are stalled.
  var idleSince: Date { asOf.addingTimeInterval(-Double(days) * 86_400) }
}
