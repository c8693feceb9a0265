import CRMContracts
import CRMDomain
import Foundation
import SwiftProtobuf

/// What one event changes in the read models, decoded and checked (pure: no I/O). Payloads are
/// hostile input: a text that is too long, a missing id or time is `InvalidField`, which the
/// handler turns into a dead letter. Times come from the payload (when it happened) or, where
/// the payload has none, from the envelope: never from the clock.
enum ProjectedChange: Equatable, Sendable {
  case pipeline(PipelineRow)
  /// Any deal event: the deal as it now is, and what happened to its stage.
  case deal(DealRow, DealStep)
  case lead(LeadRow)
  case activity(ActivityRow)
  case hygiene(HygieneRow)
  case qcReview(QCReviewRow)
  case card(CardRow)
  case cardArchived(contactID: String)

  /// The longest id or short text taken (the services' own limit on names and ids).
  static let idLength = 200
  /// The longest reason or source taken.
  static let textLength = 2_000

  /// The change an event of `type` makes, or nil for a type reporting does not project.
  static func decode(type: String, payload: Data, occurredAt: Date?) throws -> ProjectedChange? {
    do {
      return try decodeKnown(type: type, payload: payload, occurredAt: occurredAt)
    } catch let error as SwiftProtobuf.BinaryDecodingError {
      throw InvalidField(field: "payload", reason: "does not decode as \(type) (\(error))")
    }
  }

  /// Whether reporting projects events of `type`.
  static func projects(_ type: String) -> Bool { known.contains(type) }

  static let known: Set<String> = [
    Crm_Deals_V1_PipelineDefined.protoMessageName, Crm_Deals_V1_DealOpened.protoMessageName,
    Crm_Deals_V1_DealMoved.protoMessageName, Crm_Deals_V1_ObjectionRaised.protoMessageName,
    Crm_Deals_V1_ProbabilityEstimated.protoMessageName, Crm_Deals_V1_DealAmountChanged.protoMessageName,
    Crm_Deals_V1_DealWon.protoMessageName, Crm_Deals_V1_DealLost.protoMessageName,
    Crm_Contacts_V1_LeadCreated.protoMessageName, Crm_Contacts_V1_LeadConverted.protoMessageName,
    Crm_Contacts_V1_LeadRejected.protoMessageName, Crm_Contacts_V1_ContactCreated.protoMessageName,
    Crm_Contacts_V1_ContactUpdated.protoMessageName, Crm_Contacts_V1_ContactArchived.protoMessageName,
    Crm_Activity_V1_ActivityLogged.protoMessageName, Crm_Activity_V1_HygieneReported.protoMessageName,
    Crm_Qualitycontrol_V1_ReviewSubmitted.protoMessageName,
  ]

  private static func decodeKnown(type: String, payload: Data, occurredAt: Date?) throws -> ProjectedChange? {
    switch type {
    case Crm_Deals_V1_PipelineDefined.protoMessageName:
      return .pipeline(try PipelineRow(try Crm_Deals_V1_PipelineDefined(serializedBytes: payload).pipeline))
    case Crm_Deals_V1_DealOpened.protoMessageName:
      let deal = try Crm_Deals_V1_DealOpened(serializedBytes: payload).deal
      let row = try DealRow(deal, at: deal.hasOpenedAt ? try deal.openedAt.checkedDate("deal.opened_at") : occurredAt)
      return .deal(row, .opened(at: row.openedAt))
    case Crm_Deals_V1_DealMoved.protoMessageName:
      let moved = try Crm_Deals_V1_DealMoved(serializedBytes: payload)
      let step = try DealStep.moved(moved.transition, at: occurredAt)
      guard case .moved(_, _, _, let at) = step else { return nil }
      return .deal(try DealRow(moved.deal, at: at), step)
    case Crm_Deals_V1_ObjectionRaised.protoMessageName:
      let raised = try Crm_Deals_V1_ObjectionRaised(serializedBytes: payload)
      let at =
        raised.objection.hasRaisedAt ? try raised.objection.raisedAt.checkedDate("objection.raised_at") : occurredAt
      return .deal(try DealRow(raised.deal, at: at), .none)
    case Crm_Deals_V1_ProbabilityEstimated.protoMessageName:
      let deal = try Crm_Deals_V1_ProbabilityEstimated(serializedBytes: payload).deal
      return .deal(try DealRow(deal, at: occurredAt), .none)
    case Crm_Deals_V1_DealAmountChanged.protoMessageName:
      let deal = try Crm_Deals_V1_DealAmountChanged(serializedBytes: payload).deal
      return .deal(try DealRow(deal, at: occurredAt), .none)
    case Crm_Deals_V1_DealWon.protoMessageName:
      let deal = try Crm_Deals_V1_DealWon(serializedBytes: payload).deal
      let row = try DealRow(deal, at: deal.hasClosedAt ? try deal.closedAt.checkedDate("deal.closed_at") : occurredAt)
      return .deal(row, .closed(outcome: "won", at: try row.requireClosedAt()))
    case Crm_Deals_V1_DealLost.protoMessageName:
      let lost = try Crm_Deals_V1_DealLost(serializedBytes: payload)
      var row = try DealRow(
        lost.deal, at: lost.deal.hasClosedAt ? try lost.deal.closedAt.checkedDate("deal.closed_at") : occurredAt)
      row.lossKind =
        switch lost.lastObjection.kind {
        case .real: "real"
        case .stall: "stall"
        default: nil
        }
      return .deal(row, .closed(outcome: "lost", at: try row.requireClosedAt()))
    case Crm_Contacts_V1_LeadCreated.protoMessageName:
      return .lead(try LeadRow(try Crm_Contacts_V1_LeadCreated(serializedBytes: payload).lead, closedAt: nil))
    case Crm_Contacts_V1_LeadConverted.protoMessageName:
      let lead = try Crm_Contacts_V1_LeadConverted(serializedBytes: payload).lead
      return .lead(try LeadRow(lead, closedAt: try required(occurredAt, "envelope.occurred_at")))
    case Crm_Contacts_V1_LeadRejected.protoMessageName:
      let lead = try Crm_Contacts_V1_LeadRejected(serializedBytes: payload).lead
      return .lead(try LeadRow(lead, closedAt: try required(occurredAt, "envelope.occurred_at")))
    case Crm_Contacts_V1_ContactCreated.protoMessageName:
      return .card(try CardRow(try Crm_Contacts_V1_ContactCreated(serializedBytes: payload).contact))
    case Crm_Contacts_V1_ContactUpdated.protoMessageName:
      return .card(try CardRow(try Crm_Contacts_V1_ContactUpdated(serializedBytes: payload).contact))
    case Crm_Contacts_V1_ContactArchived.protoMessageName:
      let id = try Crm_Contacts_V1_ContactArchived(serializedBytes: payload).contactID
      return .cardArchived(contactID: try Self.id(id, "contact_id"))
    case Crm_Activity_V1_ActivityLogged.protoMessageName:
      return .activity(try ActivityRow(try Crm_Activity_V1_ActivityLogged(serializedBytes: payload).activity))
    case Crm_Activity_V1_HygieneReported.protoMessageName:
      let report = try Crm_Activity_V1_HygieneReported(serializedBytes: payload).report
      return report.preview ? nil : .hygiene(try HygieneRow(report))
    case Crm_Qualitycontrol_V1_ReviewSubmitted.protoMessageName:
      return .qcReview(try QCReviewRow(try Crm_Qualitycontrol_V1_ReviewSubmitted(serializedBytes: payload)))
    default:
      return nil
    }
  }

  static func id(_ value: String, _ field: String, required: Bool = true) throws(InvalidField) -> String {
    try Text.field(value, field, limit: idLength, required: required)
  }

  static func text(_ value: String, _ field: String) throws(InvalidField) -> String {
    try Text.field(value, field, limit: textLength, multiline: true)
  }

  static func required<T>(_ value: T?, _ field: String) throws(InvalidField) -> T {
    guard let value else { throw InvalidField(field: field, reason: "is missing") }
    return value
  }

  /// A calendar date as PostgreSQL reads it (`YYYY-MM-DD`), nil when unset (year 0).
  static func day(_ date: Crm_Common_V1_Date, _ field: String) throws(InvalidField) -> String? {
    guard date.year != 0 || date.month != 0 || date.day != 0 else { return nil }
    var components = DateComponents()
    components.year = Int(date.year)
    components.month = Int(date.month)
    components.day = Int(date.day)
    guard (1...9999).contains(date.year), components.isValidDate(in: Calendar(identifier: .gregorian)) else {
      throw InvalidField(field: field, reason: "\(date.year)-\(date.month)-\(date.day) is not a date")
    }
    return String(format: "%04d-%02d-%02d", date.year, date.month, date.day)
  }
}

/// What a deal event did to the deal's stage visits.
enum DealStep: Equatable, Sendable {
  /// Nothing (an objection, an estimate, an amount).
  case none
  case opened(at: Date)
  /// Left `from` for `to`, passing over `skipped`.
  case moved(from: String, to: String, skipped: [String], at: Date)
  /// Won or lost at its current stage.
  case closed(outcome: String, at: Date)

  static func moved(_ transition: Crm_Deals_V1_StageTransition, at occurredAt: Date?) throws(InvalidField) -> DealStep {
    let at = transition.hasMovedAt ? try transition.movedAt.checkedDate("transition.moved_at") : occurredAt
    return .moved(
      from: try ProjectedChange.id(transition.fromStageID, "transition.from_stage_id"),
      to: try ProjectedChange.id(transition.toStageID, "transition.to_stage_id"),
      skipped: try transition.skippedStageIds.enumerated().map { index, id throws(InvalidField) in
        try ProjectedChange.id(id, "transition.skipped_stage_ids[\(index)]")
      },
      at: try ProjectedChange.required(at, "transition.moved_at"))
  }
}

struct PipelineRow: Equatable, Sendable {
  struct Stage: Equatable, Sendable {
    var id: String
    var name: String
    var result: String
    var position: Int32
    var defaultProbability: Int32
    var retired: Bool
  }

  var id: String
  var businessLine: String
  var name: String
  var lossReasons: [String]
  var stages: [Stage]
  var version: Int64

  init(_ pipeline: Crm_Deals_V1_Pipeline) throws(InvalidField) {
    id = try ProjectedChange.id(pipeline.id, "pipeline.id")
    businessLine = try ProjectedChange.id(pipeline.businessLine, "pipeline.business_line", required: false)
    name = try ProjectedChange.text(pipeline.name, "pipeline.name")
    lossReasons = try pipeline.lossReasons.enumerated().map { index, reason throws(InvalidField) in
      try ProjectedChange.text(reason, "pipeline.loss_reasons[\(index)]")
    }
    stages = try pipeline.stages.enumerated().map { index, stage throws(InvalidField) in
      let field = "pipeline.stages[\(index)]"
      return Stage(
        id: try ProjectedChange.id(stage.id, field + ".id"),
        name: try ProjectedChange.text(stage.name, field + ".name"),
        result: try ProjectedChange.text(stage.result, field + ".result"),
        // Positions as given; a pipeline that gives none is ordered as listed.
        position: stage.position == 0 ? Int32(index + 1) : stage.position,
        defaultProbability: stage.defaultProbability, retired: stage.retired)
    }
    version = pipeline.version
    guard Set(stages.map(\.id)).count == stages.count else {
      throw InvalidField(field: "pipeline.stages", reason: "names a stage twice")
    }
  }
}

struct DealRow: Equatable, Sendable {
  var id: String
  var contactID: String
  var pipelineID: String
  var ownerID: String
  var kind: String
  var source: String
  var amountMinor: Int64
  var currency: String
  var status: String
  var stageID: String
  var probability: Int32
  var ownerEstimated: Bool
  var expectedClose: String?
  var openedAt: Date
  var closedAt: Date?
  var lossStageID: String?
  var lossReason: String?
  var lossKind: String?
  var leadID: String
  var version: Int64
  /// When this version came to be: the payload's own time (opened, moved, objection raised,
  /// closed), else the envelope's (an estimate, an amount).
  var occurredAt: Date

  init(_ deal: Crm_Deals_V1_Deal, at occurredAt: Date?) throws(InvalidField) {
    id = try ProjectedChange.id(deal.id, "deal.id")
    contactID = try ProjectedChange.id(deal.contactID, "deal.contact_id", required: false)
    pipelineID = try ProjectedChange.id(deal.pipelineID, "deal.pipeline_id")
    ownerID = try ProjectedChange.id(deal.ownerID, "deal.owner_id")
    kind =
      switch deal.kind {
      case .consultative: "consultative"
      case .active: "active"
      default: "unspecified"
      }
    source = try ProjectedChange.id(deal.source, "deal.source", required: false)
    amountMinor = deal.amount.minorUnits
    currency = try ProjectedChange.id(deal.amount.currency, "deal.amount.currency", required: false)
    status =
      switch deal.status {
      case .open: "open"
      case .won: "won"
      case .lost: "lost"
      default:
        throw InvalidField(field: "deal.status", reason: "is \(deal.status.rawValue); expected open, won or lost")
      }
    stageID = try ProjectedChange.id(deal.stageID, "deal.stage_id")
    guard (0...100).contains(deal.probability) else {
      throw InvalidField(field: "deal.probability", reason: "is \(deal.probability); expected 0 to 100")
    }
    probability = deal.probability
    ownerEstimated = deal.ownerEstimated
    expectedClose = try ProjectedChange.day(deal.expectedClose, "deal.expected_close")
    guard deal.hasOpenedAt else { throw InvalidField(field: "deal.opened_at", reason: "is missing") }
    openedAt = try deal.openedAt.checkedDate("deal.opened_at")
    closedAt = status != "open" && deal.hasClosedAt ? try deal.closedAt.checkedDate("deal.closed_at") : nil
    lossStageID = status == "lost" ? try ProjectedChange.id(deal.lossStageID, "deal.loss_stage_id") : nil
    lossReason = status == "lost" ? try ProjectedChange.text(deal.lossReason, "deal.loss_reason") : nil
    leadID = try ProjectedChange.id(deal.leadID, "deal.lead_id", required: false)
    guard deal.version >= 1 else {
      throw InvalidField(field: "deal.version", reason: "is \(deal.version); a deal's versions start at 1")
    }
    version = deal.version
    self.occurredAt = try ProjectedChange.required(occurredAt, "envelope.occurred_at")
  }

  func requireClosedAt() throws(InvalidField) -> Date {
    try ProjectedChange.required(closedAt, "deal.closed_at")
  }
}

struct LeadRow: Equatable, Sendable {
  var id: String
  var source: String
  var ownerID: String
  var businessLine: String
  var status: String
  var rejectionReason: String?
  var createdAt: Date
  var closedAt: Date?
  var version: Int64

  init(_ lead: Crm_Contacts_V1_Lead, closedAt: Date?) throws(InvalidField) {
    id = try ProjectedChange.id(lead.id, "lead.id")
    source = try ProjectedChange.id(lead.source, "lead.source", required: false)
    ownerID = try ProjectedChange.id(lead.ownerID, "lead.owner_id")
    businessLine = try ProjectedChange.id(lead.businessLine, "lead.business_line", required: false)
    status =
      switch lead.status {
      case .open: "open"
      case .converted: "converted"
      case .rejected: "rejected"
      default:
        throw InvalidField(
          field: "lead.status", reason: "is \(lead.status.rawValue); expected open, converted, rejected")
      }
    rejectionReason =
      status == "rejected" ? try ProjectedChange.text(lead.rejectionReason, "lead.rejection_reason") : nil
    guard lead.hasCreatedAt else { throw InvalidField(field: "lead.created_at", reason: "is missing") }
    createdAt = try lead.createdAt.checkedDate("lead.created_at")
    self.closedAt = status == "open" ? nil : closedAt
    version = lead.version
  }
}

struct ActivityRow: Equatable, Sendable {
  var id: String
  var kind: String
  var authorID: String
  var dealID: String?
  /// When it happened (the record's own time, which may lie in the past).
  var occurredAt: Date

  init(_ record: Crm_Activity_V1_ActivityRecord) throws(InvalidField) {
    id = try ProjectedChange.id(record.id, "activity.id")
    kind =
      switch record.kind {
      case .meeting: "meeting"
      case .call: "call"
      case .email: "email"
      case .message: "message"
      case .request: "request"
      case .order: "order"
      case .wish: "wish"
      case .reminder: "reminder"
      case .note: "note"
      default: "other"
      }
    // author_id is the manager; an older record has only `role:subject`.
    let author = record.authorID.isEmpty ? String(record.author.split(separator: ":").last ?? "") : record.authorID
    authorID = try ProjectedChange.id(author, "activity.author_id")
    let deal = try ProjectedChange.id(record.dealID, "activity.deal_id", required: false)
    dealID = deal.isEmpty ? nil : deal
    guard record.hasOccurredAt else { throw InvalidField(field: "activity.occurred_at", reason: "is missing") }
    occurredAt = try record.occurredAt.checkedDate("activity.occurred_at")
  }
}

struct HygieneRow: Equatable, Sendable {
  var managerID: String
  var day: String
  var unprocessed: Int32
  var withoutOpenTask: Int32
  var withOverdueTask: Int32

  init(_ report: Crm_Activity_V1_HygieneReport) throws(InvalidField) {
    managerID = try ProjectedChange.id(report.managerID, "report.manager_id")
    day = try ProjectedChange.required(try ProjectedChange.day(report.day, "report.day"), "report.day")
    for (count, field) in [
      (report.unprocessedDealCount, "unprocessed_deal_count"),
      (report.dealsWithoutOpenTaskCount, "deals_without_open_task_count"),
      (report.dealsWithOverdueTaskCount, "deals_with_overdue_task_count"),
    ] where count < 0 {
      throw InvalidField(field: "report." + field, reason: "is \(count); a count is not negative")
    }
    unprocessed = report.unprocessedDealCount
    withoutOpenTask = report.dealsWithoutOpenTaskCount
    withOverdueTask = report.dealsWithOverdueTaskCount
  }
}

struct QCReviewRow: Equatable, Sendable {
  var reviewID: String
  var itemID: String
  var pass: Int32
  var repCode: String
  var weightedScore: Double
  var reviewedAt: Date
  var occurredAt: Date?

  init(_ submitted: Crm_Qualitycontrol_V1_ReviewSubmitted) throws(InvalidField) {
    reviewID = try ProjectedChange.id(submitted.review.id, "review.id")
    itemID = try ProjectedChange.id(submitted.review.itemID, "review.item_id")
    pass = submitted.review.pass
    repCode = try ProjectedChange.id(submitted.repCode, "rep_code")
    guard (0...100).contains(submitted.review.weightedScore) else {
      throw InvalidField(
        field: "review.weighted_score", reason: "is \(submitted.review.weightedScore); expected 0 to 100")
    }
    weightedScore = submitted.review.weightedScore
    guard submitted.review.hasSubmittedAt else {
      throw InvalidField(field: "review.submitted_at", reason: "is missing")
    }
    reviewedAt = try submitted.review.submittedAt.checkedDate("review.submitted_at")
    occurredAt = submitted.hasOccurredAt ? try submitted.occurredAt.checkedDate("occurred_at") : nil
  }
}

struct CardRow: Equatable, Sendable {
  var contactID: String
  var ownerID: String
  var optionalFilled: Int32
  var optionalTotal: Int32
  var archived: Bool

  init(_ contact: Crm_Contacts_V1_Contact) throws(InvalidField) {
    contactID = try ProjectedChange.id(contact.id, "contact.id")
    ownerID = try ProjectedChange.id(contact.ownerID, "contact.owner_id")
    let completeness = CardCompleteness(contact)
    optionalFilled = Int32(completeness.filled)
    optionalTotal = Int32(completeness.total)
    archived = contact.archived
  }
}
