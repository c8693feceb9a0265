import CRMContracts
import CRMDomain
import Foundation

/// Checks of what clients send about activities: each failure names the field and why.
enum ActivityInput {
  static let textLength = 10_000
  /// Logged late, not early: a clock a little ahead is tolerated, a date to come is refused.
  static let clockSkew: TimeInterval = 300
  /// 2000-01-01T00:00:00Z: nothing the CRM records happened before.
  static let earliest = Date(timeIntervalSince1970: 946_684_800)

  /// A checked `LogActivityRequest`; its context is checked against the catalogue where the
  /// catalogue is (`AttributeCatalogue.check`), with the rest of the write.
  struct NewActivity: Sendable {
    var kind: Crm_Activity_V1_ActivityKind
    var contactID: UUID?
    var dealID: UUID?
    var text: String
    var context: [String: Crm_Activity_V1_AttributeValue]
    var occurredAt: Date
  }

  static func newActivity(_ request: Crm_Activity_V1_LogActivityRequest, now: Date = Date()) throws(InvalidField)
    -> NewActivity
  {
    try request.requireKnownFields("request")
    guard kinds.keys.contains(request.kind) else {
      throw InvalidField(
        field: "kind",
        reason: "expected one of " + kinds.keys.sorted { $0.rawValue < $1.rawValue }.map(\.name).joined(separator: ", ")
      )
    }
    let links = try Self.links(contact: request.contactID, deal: request.dealID)
    let text = try Text.field(
      request.text, "text", limit: textLength, required: request.kind == .note, multiline: true)
    guard request.context.count <= AttributeCatalogue.contextLimit else {
      throw InvalidField(
        field: "context", reason: "has \(request.context.count) attributes; at most \(AttributeCatalogue.contextLimit)")
    }
    let occurredAt = request.hasOccurredAt ? try WireTime.instant(request.occurredAt, "occurred_at") : now
    guard occurredAt <= now.addingTimeInterval(clockSkew) else {
      throw InvalidField(field: "occurred_at", reason: "is in the future; an activity is logged once it happened")
    }
    guard occurredAt >= earliest else {
      throw InvalidField(field: "occurred_at", reason: "is before 2000-01-01")
    }
    return NewActivity(
      kind: request.kind, contactID: links.contact, dealID: links.deal, text: text, context: request.context,
      occurredAt: occurredAt)
  }

  /// The contact and deal an activity or task is about: at least one of them.
  static func links(contact: String, deal: String) throws(InvalidField) -> (contact: UUID?, deal: UUID?) {
    let contactID = contact.isEmpty ? nil : try id(contact, "contact_id")
    let dealID = deal.isEmpty ? nil : try id(deal, "deal_id")
    guard contactID != nil || dealID != nil else {
      throw InvalidField(field: "contact_id", reason: "is empty and so is deal_id; name the contact, the deal or both")
    }
    return (contactID, dealID)
  }

  /// A required id.
  static func id(_ value: String, _ field: String) throws(InvalidField) -> UUID {
    guard !value.isEmpty else { throw InvalidField(field: field, reason: "is empty") }
    guard let uuid = UUID(uuidString: value) else {
      throw InvalidField(field: field, reason: "\(Text.quoted(value)) is not an id")
    }
    return uuid
  }

  /// The kinds and how they are stored.
  static let kinds: [Crm_Activity_V1_ActivityKind: String] = [
    .meeting: "meeting", .call: "call", .email: "email", .message: "message", .request: "request", .order: "order",
    .wish: "wish", .reminder: "reminder", .note: "note",
  ]
}

extension Crm_Activity_V1_ActivityKind {
  var text: String { ActivityInput.kinds[self] ?? "unspecified" }
  init(text: String) { self = ActivityInput.kinds.first { $0.value == text }?.key ?? .unspecified }
  /// The name on the wire, e.g. `ACTIVITY_KIND_MEETING`.
  var name: String { "ACTIVITY_KIND_" + text.uppercased() }
}

/// Whose timeline: one contact's, one deal's or one manager's.
enum TimelineSubject: Sendable, Equatable {
  case contact(UUID)
  case deal(UUID)
  case manager(String)

  /// Exactly one of the request's three; the page token is bound to it (a token of one
  /// timeline does not page another).
  static func of(_ request: Crm_Activity_V1_GetTimelineRequest) throws(InvalidField) -> TimelineSubject {
    try request.requireKnownFields("request")
    let given = [request.contactID, request.dealID, request.managerID].filter { !$0.isEmpty }.count
    guard given == 1 else {
      throw InvalidField(
        field: "contact_id", reason: "name exactly one of contact_id, deal_id and manager_id (\(given) given)")
    }
    if !request.contactID.isEmpty { return .contact(try ActivityInput.id(request.contactID, "contact_id")) }
    if !request.dealID.isEmpty { return .deal(try ActivityInput.id(request.dealID, "deal_id")) }
    return .manager(
      try Text.field(request.managerID, "manager_id", limit: DealsEventsHandler.ownerLength, required: true))
  }

  /// The page-token scope: the method and the timeline.
  var scope: String {
    switch self {
    case .contact(let id): "GetTimeline/contact/\(id.text)"
    case .deal(let id): "GetTimeline/deal/\(id.text)"
    case .manager(let id): "GetTimeline/manager/\(id)"
    }
  }
}
