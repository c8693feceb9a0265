import CRMContracts
import CRMEvents
import Foundation
import SwiftProtobuf

@testable import ReportingService

/// A hand-built history of a sales department, as envelopes: one pipeline of four stages, two
/// managers, deals that move (one skipping a stage), are won or lost after a real objection or a
/// stall, leads converted and rejected, an activity, an end-of-day report, a QC review, a card.
struct SalesFlow {
  /// 2026-01-05 00:00 UTC, a Monday: the first day of the history.
  static let start = Date(timeIntervalSince1970: 1_767_571_200)
  static func day(_ days: Double) -> Date { start.addingTimeInterval(days * 86_400) }

  let pipelineID = UUID().uuidString.lowercased()
  let stages = (0..<4).map { _ in UUID().uuidString.lowercased() }
  let deals = (0..<5).map { _ in UUID().uuidString.lowercased() }

  /// A deal's state, changed as its events are made (its version rises with each).
  final class DealState {
    var deal: Crm_Deals_V1_Deal
    init(_ deal: Crm_Deals_V1_Deal) { self.deal = deal }
  }

  var pipeline: Crm_Deals_V1_Pipeline {
    .with {
      $0.id = pipelineID
      $0.businessLine = "training"
      $0.name = "Training sales"
      $0.version = 1
      $0.lossReasons = ["price", "timing"]
      $0.stages = stages.enumerated().map { index, id in
        .with {
          $0.id = id
          $0.name = "Stage \(index + 1)"
          $0.result = "Stage \(index + 1) done"
          $0.position = Int32(index + 1)
          $0.defaultProbability = Int32(10 + 20 * index)
        }
      }
    }
  }

  func pipelineDefined() throws -> ReceivedEvent {
    try Envelopes.event(
      Crm_Deals_V1_PipelineDefined.with { $0.pipeline = pipeline }, topic: EventTopics.deals,
      aggregateID: pipelineID, version: 1, at: Self.day(0))
  }

  func open(_ index: Int, owner: String, kind: Crm_Deals_V1_DealKind, source: String, amount: Int64, at: Date)
    throws -> (DealState, ReceivedEvent)
  {
    let state = DealState(
      .with {
        $0.id = deals[index]
        $0.contactID = UUID().uuidString.lowercased()
        $0.pipelineID = pipelineID
        $0.stageID = stages[0]
        $0.ownerID = owner
        $0.kind = kind
        $0.source = source
        $0.amount = .with {
          $0.minorUnits = amount
          $0.currency = "RUB"
        }
        $0.status = .open
        $0.probability = 10
        $0.openedAt = Google_Protobuf_Timestamp(date: at)
        $0.version = 1
      })
    return (state, try dealEvent(Crm_Deals_V1_DealOpened.with { $0.deal = state.deal }, state, at: at))
  }

  /// Published an hour after the move (as an import of past moves would be): the move's own
  /// time is the one that counts.
  func move(_ state: DealState, to stage: Int, skipping skipped: [Int] = [], at: Date) throws -> ReceivedEvent {
    let from = state.deal.stageID
    state.deal.stageID = stages[stage]
    state.deal.probability = Int32(10 + 20 * stage)
    state.deal.version += 1
    return try dealEvent(
      Crm_Deals_V1_DealMoved.with {
        $0.deal = state.deal
        $0.transition = .with {
          $0.fromStageID = from
          $0.toStageID = stages[stage]
          $0.skippedStageIds = skipped.map { stages[$0] }
          $0.movedAt = Google_Protobuf_Timestamp(date: at)
        }
      }, state, at: at.addingTimeInterval(3_600))
  }

  func object(_ state: DealState, _ kind: Crm_Deals_V1_ObjectionKind, at: Date) throws -> (
    Crm_Deals_V1_Objection, ReceivedEvent
  ) {
    state.deal.version += 1
    let objection = Crm_Deals_V1_Objection.with {
      $0.id = UUID().uuidString.lowercased()
      $0.stageID = state.deal.stageID
      $0.reason = kind == .stall ? "I'll think about it" : "too expensive"
      $0.kind = kind
      $0.raisedAt = Google_Protobuf_Timestamp(date: at)
    }
    let event = try dealEvent(
      Crm_Deals_V1_ObjectionRaised.with {
        $0.deal = state.deal
        $0.objection = objection
      }, state, at: at)
    return (objection, event)
  }

  func estimate(_ state: DealState, _ probability: Int32, at: Date) throws -> ReceivedEvent {
    state.deal.probability = probability
    state.deal.ownerProbability = probability
    state.deal.ownerEstimated = true
    state.deal.version += 1
    return try dealEvent(Crm_Deals_V1_ProbabilityEstimated.with { $0.deal = state.deal }, state, at: at)
  }

  func win(_ state: DealState, at: Date) throws -> ReceivedEvent {
    state.deal.status = .won
    state.deal.closedAt = Google_Protobuf_Timestamp(date: at)
    state.deal.version += 1
    return try dealEvent(Crm_Deals_V1_DealWon.with { $0.deal = state.deal }, state, at: at)
  }

  func lose(_ state: DealState, reason: String, after objection: Crm_Deals_V1_Objection?, at: Date) throws
    -> ReceivedEvent
  {
    state.deal.status = .lost
    state.deal.lossStageID = state.deal.stageID
    state.deal.lossReason = reason
    state.deal.closedAt = Google_Protobuf_Timestamp(date: at)
    state.deal.version += 1
    return try dealEvent(
      Crm_Deals_V1_DealLost.with {
        $0.deal = state.deal
        if let objection { $0.lastObjection = objection }
      }, state, at: at)
  }

  /// `count` more deals of `owner` opened at the first stage, with ids of their own.
  func newDeals(_ count: Int, owner: String, at: Date) throws -> [ReceivedEvent] {
    try (0..<count).map { _ in
      let (state, _) = try open(0, owner: owner, kind: .active, source: "cold", amount: 1_000, at: at)
      state.deal.id = UUID().uuidString.lowercased()
      return try dealEvent(Crm_Deals_V1_DealOpened.with { $0.deal = state.deal }, state, at: at)
    }
  }

  func dealEvent(_ payload: some Message, _ state: DealState, at: Date) throws -> ReceivedEvent {
    try Envelopes.event(
      payload, topic: EventTopics.deals, aggregateID: state.deal.id, version: state.deal.version, at: at)
  }

  static func lead(owner: String, source: String, status: Crm_Contacts_V1_LeadStatus, reason: String = "", at: Date)
    throws -> [ReceivedEvent]
  {
    var lead = Crm_Contacts_V1_Lead.with {
      $0.id = UUID().uuidString.lowercased()
      $0.name = "Lead"
      $0.source = source
      $0.ownerID = owner
      $0.businessLine = "training"
      $0.status = .open
      $0.createdAt = Google_Protobuf_Timestamp(date: at)
      $0.version = 1
    }
    var events = [
      try Envelopes.event(
        Crm_Contacts_V1_LeadCreated.with { $0.lead = lead }, topic: EventTopics.contacts, aggregateID: lead.id,
        version: 1, at: at)
    ]
    let closed = at.addingTimeInterval(3_600)
    lead.version = 2
    lead.status = status
    switch status {
    case .converted:
      events.append(
        try Envelopes.event(
          Crm_Contacts_V1_LeadConverted.with { $0.lead = lead }, topic: EventTopics.contacts, aggregateID: lead.id,
          version: 2, at: closed))
    case .rejected:
      lead.rejectionReason = reason
      events.append(
        try Envelopes.event(
          Crm_Contacts_V1_LeadRejected.with { $0.lead = lead }, topic: EventTopics.contacts, aggregateID: lead.id,
          version: 2, at: closed))
    default: break
    }
    return events
  }

  /// An activity on a deal that happened at `at`, recorded a day later (a backdated report).
  static func activity(on dealID: String, by author: String, at: Date) throws -> ReceivedEvent {
    let record = Crm_Activity_V1_ActivityRecord.with {
      $0.id = UUID().uuidString.lowercased()
      $0.kind = .call
      $0.dealID = dealID
      $0.author = "manager:\(author)"
      $0.authorID = author
      $0.occurredAt = Google_Protobuf_Timestamp(date: at)
      $0.recordedAt = Google_Protobuf_Timestamp(date: at.addingTimeInterval(86_400))
    }
    return try Envelopes.event(
      Crm_Activity_V1_ActivityLogged.with { $0.activity = record }, topic: EventTopics.activity,
      aggregateID: record.id, version: 1, at: at.addingTimeInterval(86_400))
  }

  /// The whole history, in the order the broker would bring it.
  func history() throws -> [ReceivedEvent] {
    var events = [try pipelineDefined()]
    // D0 (m-1): stage 1 → 2 → 4 (skipping 3) → won.
    let (d0, opened0) = try open(0, owner: "m-1", kind: .consultative, source: "site", amount: 100_000, at: Self.day(0))
    events += [opened0, try move(d0, to: 1, at: Self.day(1)), try estimate(d0, 70, at: Self.day(2))]
    events += [try move(d0, to: 3, skipping: [2], at: Self.day(3)), try win(d0, at: Self.day(5))]
    // D1 (m-1): stage 1 → 2, a stall, lost at 2.
    let (d1, opened1) = try open(1, owner: "m-1", kind: .consultative, source: "site", amount: 50_000, at: Self.day(0))
    events += [opened1, try move(d1, to: 1, at: Self.day(2))]
    let (stall, stalled) = try object(d1, .stall, at: Self.day(3))
    events += [stalled, try lose(d1, reason: "price", after: stall, at: Self.day(4))]
    // D2 (m-2): a real objection, lost at 1.
    let (d2, opened2) = try open(2, owner: "m-2", kind: .active, source: "cold", amount: 30_000, at: Self.day(1))
    let (real, raised) = try object(d2, .real, at: Self.day(1.5))
    events += [opened2, raised, try lose(d2, reason: "price", after: real, at: Self.day(2))]
    // D3 (m-2): open at 1, a call on day 2.
    let (d3, opened3) = try open(3, owner: "m-2", kind: .active, source: "cold", amount: 20_000, at: Self.day(1))
    events += [opened3, try Self.activity(on: d3.deal.id, by: "m-2", at: Self.day(2))]
    // D4 (m-1): open, moved to 2 on day 6.
    let (d4, opened4) = try open(4, owner: "m-1", kind: .consultative, source: "site", amount: 10_000, at: Self.day(1))
    events += [opened4, try move(d4, to: 1, at: Self.day(6))]
    // Leads: site (m-1) one converted, one rejected; cold (m-2) one open, one rejected.
    events += try Self.lead(owner: "m-1", source: "site", status: .converted, at: Self.day(0))
    events += try Self.lead(owner: "m-1", source: "site", status: .rejected, reason: "spam", at: Self.day(0))
    events += try Self.lead(owner: "m-2", source: "cold", status: .open, at: Self.day(0))
    events += try Self.lead(owner: "m-2", source: "cold", status: .rejected, reason: "no need", at: Self.day(1))
    events += [try Self.hygiene(), try Self.review(), try Self.card()]
    return events
  }

  static func hygiene() throws -> ReceivedEvent {
    try Envelopes.event(
      Crm_Activity_V1_HygieneReported.with {
        $0.report = .with {
          $0.managerID = "m-1"
          $0.day = .with {
            $0.year = 2026
            $0.month = 1
            $0.day = 5
          }
          $0.workingDay = true
          $0.unprocessedDealCount = 2
          $0.dealsWithoutOpenTaskCount = 1
          $0.dealsWithOverdueTaskCount = 0
        }
      }, topic: EventTopics.activity, aggregateID: "hygiene:m-1", version: 20_459, at: day(0.9))
  }

  static func review() throws -> ReceivedEvent {
    try Envelopes.event(
      Crm_Qualitycontrol_V1_ReviewSubmitted.with {
        $0.review = .with {
          $0.id = UUID().uuidString.lowercased()
          $0.itemID = "ITEMCODE23456789"
          $0.pass = 1
          $0.weightedScore = 75
          $0.submittedAt = Google_Protobuf_Timestamp(date: day(3))
        }
        $0.repCode = "REPCODE234567ABC"
        $0.occurredAt = Google_Protobuf_Timestamp(date: day(2))
      }, topic: EventTopics.qualityControl, aggregateID: "ITEMCODE23456789", version: 1, at: day(3))
  }

  /// A card with only a name, an owner, a phone and a tag: 2 of 8 optional fields.
  static func card() throws -> ReceivedEvent {
    let id = UUID().uuidString.lowercased()
    return try Envelopes.event(
      Crm_Contacts_V1_ContactCreated.with {
        $0.contact = .with {
          $0.id = id
          $0.name = "Анна"
          $0.ownerID = "m-1"
          $0.phones = [.with { $0.number = "+79123456789" }]
          $0.tags = ["vip"]
          $0.version = 1
        }
      }, topic: EventTopics.contacts, aggregateID: id, version: 1, at: day(0))
  }
}
