import CRMContracts
import CRMDomain
import CRMEvents
import Foundation
import SwiftProtobuf

/// Checks of what clients send about deals: each failure names the field and why.
enum DealInput {
  static let textLength = 200
  static let longTextLength = 2_000
  static let maximumMinorUnits: Int64 = 1_000_000_000_000_000

  /// A checked `OpenDealRequest`.
  struct NewDeal: Sendable {
    var contactID: UUID
    var companyID: UUID?
    var pipelineID: UUID
    var ownerID: String
    var kind: Crm_Deals_V1_DealKind
    var source: String
    var amount: Crm_Common_V1_Money
    var expectedClose: String?
    var leadID: UUID?
    /// History import: when it was opened (nil: now).
    var openedAt: Date? = nil
  }

  /// `openedAt` is the checked `occurred_at` (history import): the expected close is then not
  /// before that day rather than today.
  static func newDeal(_ request: Crm_Deals_V1_OpenDealRequest, openedAt: Date? = nil, today: Date = Date())
    throws(InvalidField) -> NewDeal
  {
    try request.requireKnownFields("request")
    let kind = request.kind
    guard kind == .consultative || kind == .active else {
      throw InvalidField(field: "kind", reason: "expected DEAL_KIND_CONSULTATIVE or DEAL_KIND_ACTIVE")
    }
    return NewDeal(
      contactID: try id(request.contactID, "contact_id"),
      companyID: request.companyID.isEmpty ? nil : try id(request.companyID, "company_id"),
      pipelineID: try id(request.pipelineID, "pipeline_id"),
      ownerID: try Text.field(request.ownerID, "owner_id", limit: textLength, required: true),
      kind: kind,
      source: try Text.field(request.source, "source", limit: textLength),
      amount: request.hasAmount ? try money(request.amount, "amount") : Crm_Common_V1_Money(),
      expectedClose: request.hasExpectedClose ? try closeDate(request.expectedClose, today: openedAt ?? today) : nil,
      openedAt: openedAt)
  }

  /// History import: the checked `occurred_at` of a change (nil when absent: now). Operators
  /// only (PERMISSION_DENIED otherwise); see `HistoryTime`. Its order against the deal's last
  /// change is checked where the deal is read.
  static func occurredAt(_ timestamp: Google_Protobuf_Timestamp?, byOperator: Bool, now: Date = Date()) throws
    -> Date?
  {
    guard let timestamp else { return nil }
    let requested = try HistoryTime.requested(timestamp.date, byOperator: byOperator, now: now)
    try timestamp.requireKnownFields("occurred_at")
    guard (0..<1_000_000_000).contains(timestamp.nanos) else {
      throw InvalidField(field: "occurred_at.nanos", reason: "is \(timestamp.nanos); expected 0 to 999999999")
    }
    return requested
  }

  /// A required id.
  static func id(_ value: String, _ field: String) throws(InvalidField) -> UUID {
    guard !value.isEmpty else { throw InvalidField(field: field, reason: "is empty") }
    guard let uuid = UUID(uuidString: value) else {
      throw InvalidField(field: field, reason: "\(Text.quoted(value)) is not an id")
    }
    return uuid
  }

  /// Money: non-negative minor units of an ISO 4217 currency (stored upper-case).
  static func money(_ money: Crm_Common_V1_Money, _ field: String) throws(InvalidField) -> Crm_Common_V1_Money {
    try money.requireKnownFields(field)
    guard money.minorUnits >= 0 else {
      throw InvalidField(field: "\(field).minor_units", reason: "is \(money.minorUnits); amounts are not negative")
    }
    // Ten trillion in major units: far above any deal, far below where sums of amounts overflow.
    guard money.minorUnits <= maximumMinorUnits else {
      throw InvalidField(field: "\(field).minor_units", reason: "is \(money.minorUnits); at most \(maximumMinorUnits)")
    }
    let currency = money.currency.trimmingCharacters(in: .whitespaces).uppercased()
    guard currency.count == 3, Locale.commonISOCurrencyCodes.contains(currency) else {
      throw InvalidField(
        field: "\(field).currency", reason: "\(Text.quoted(money.currency)) is not an ISO 4217 currency code")
    }
    return .with {
      $0.minorUnits = money.minorUnits
      $0.currency = currency
    }
  }

  /// The expected close date as `YYYY-MM-DD`: a real date, not before today (UTC).
  static func closeDate(_ date: Crm_Common_V1_Date, today: Date) throws(InvalidField) -> String {
    try date.requireKnownFields("expected_close")
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let components = DateComponents(year: Int(date.year), month: Int(date.month), day: Int(date.day))
    let text = String(format: "%04d-%02d-%02d", date.year, date.month, date.day)
    guard (1...9999).contains(date.year), (1...12).contains(date.month), (1...31).contains(date.day),
      components.isValidDate(in: calendar),
      let day = calendar.date(from: components)
    else { throw InvalidField(field: "expected_close", reason: "\(text) is not a date") }
    guard day >= calendar.startOfDay(for: today) else {
      throw InvalidField(field: "expected_close", reason: "\(text) is in the past")
    }
    return text
  }

  static func probability(_ value: Int32) throws(InvalidField) -> Int32 {
    guard (0...100).contains(value) else {
      throw InvalidField(field: "probability", reason: "is \(value); expected 0 to 100")
    }
    return value
  }

  /// A checked objection: reason, kind and (for a real one) the client's conditions.
  static func objection(_ request: Crm_Deals_V1_RaiseObjectionRequest) throws(InvalidField) -> (
    reason: String, kind: Crm_Deals_V1_ObjectionKind, conditions: String
  ) {
    try request.requireKnownFields("request")
    let reason = try Text.field(request.reason, "reason", limit: longTextLength, required: true, multiline: true)
    let conditions = try Text.field(request.conditions, "conditions", limit: longTextLength, multiline: true)
    switch request.kind {
    case .real:
      // A real objection is the one where the client says under which conditions he would buy.
      guard !conditions.isEmpty else {
        throw InvalidField(field: "conditions", reason: "a real objection states the client's conditions; empty")
      }
    case .stall:
      break
    default:
      throw InvalidField(field: "kind", reason: "expected OBJECTION_KIND_REAL or OBJECTION_KIND_STALL")
    }
    return (reason, request.kind, conditions)
  }

  /// The loss reason as the pipeline spells it when it is one of its list, else the free text.
  static func lossReason(_ value: String, listed: [String]) throws(InvalidField) -> String {
    let reason = try Text.field(value, "reason", limit: longTextLength, required: true, multiline: true)
    return listed.first { $0.lowercased() == reason.lowercased() } ?? reason
  }
}

extension Crm_Deals_V1_DealKind {
  var text: String { self == .active ? "active" : "consultative" }
  init(text: String) { self = text == "active" ? .active : .consultative }
}

extension Crm_Deals_V1_DealStatus {
  var text: String {
    switch self {
    case .won: "won"
    case .lost: "lost"
    default: "open"
    }
  }

  init(text: String) {
    switch text {
    case "won": self = .won
    case "lost": self = .lost
    default: self = .open
    }
  }
}

extension Crm_Deals_V1_ObjectionKind {
  var text: String { self == .real ? "real" : "stall" }
  init(text: String) { self = text == "real" ? .real : .stall }
}
