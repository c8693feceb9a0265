import CRMContracts
import CRMEvents
import CRMKafka
import CRMReview
import CRMTestSupport
import Foundation
import PostgresNIO
import SwiftProtobuf
import Synchronization

@testable import ReportingService

/// A small sales history applied to reporting's projections the way its inbox applies events
/// (the same batch handler): one pipeline of three stages, two managers, in January 2026.
///
/// m-1: D0 1 → 2 → 3 won (100 000,00 ₽); D1 1 → 2, a stall, lost; D2 open at 1 (with his own 40 %).
/// m-2: D3 a real objection, lost at 1; D4 1 → 2, open (30 000,00 ₽).
/// So stage 1: team entered 5, advanced 3, lost 1, open 1; m-1 3/2/0/1; m-2 2/1/1/0. Stage 2: team
/// 3 entered, 1 advanced, 1 lost, 1 open. Losses: 2, one real, one stall. Leads: m-1 converts one
/// from "site"; m-2 rejects one from "cold". End-of-day: m-1 3 violations on 5 January. QC: one
/// review of m-1's code, 80.
struct DashboardSeed {
  /// 2026-01-05 00:00 UTC, a Monday.
  static let start = Date(timeIntervalSince1970: 1_767_571_200)
  static func day(_ days: Double) -> Date { start.addingTimeInterval(days * 86_400) }
  static let offset = Atomic<Int64>(0)

  let pipelineID = "p-" + UUID().uuidString.lowercased().prefix(8)
  let stages = (1...3).map { "s\($0)-" + UUID().uuidString.lowercased().prefix(8) }

  final class Deal {
    var deal: Crm_Deals_V1_Deal
    init(_ deal: Crm_Deals_V1_Deal) { self.deal = deal }
  }

  func apply(to database: PostgresClient) async throws { try await apply(try history(), to: database) }

  /// `count` more open deals of `owner`, opened on 7 January and left alone.
  func idleDeals(_ count: Int, owner: String) throws -> [ReceivedEvent] {
    try (0..<count).map { _ in try open(owner, amount: 100_000, source: "site", at: Self.day(2)).1 }
  }

  func apply(_ events: [ReceivedEvent], to database: PostgresClient) async throws {
    do {
      try await database.withTransaction(logger: WebHarness.logger) { connection in
        try await ReportingEventsHandler(logger: WebHarness.logger).apply(events, on: connection)
      }
    } catch let error as PostgresTransactionError {
      throw error.closureError ?? error
    }
  }

  func history() throws -> [ReceivedEvent] {
    var events = [
      try Self.event(
        Crm_Deals_V1_PipelineDefined.with {
          $0.pipeline = .with {
            $0.id = pipelineID
            $0.businessLine = "training"
            $0.name = "Обучение"
            $0.version = 1
            $0.lossReasons = ["цена", "сроки"]
            $0.stages = stages.enumerated().map { index, id in
              .with {
                $0.id = id
                $0.name = ["Контакт", "Предложение", "Договор"][index]
                $0.result = "готово"
                $0.position = Int32(index + 1)
                $0.defaultProbability = Int32(20 + 30 * index)
              }
            }
          }
        }, topic: EventTopics.deals, aggregateID: pipelineID, version: 1, at: Self.day(0))
    ]
    let (d0, o0) = try open("m-1", amount: 10_000_000, source: "site", at: Self.day(0))
    events += [
      o0, try move(d0, to: 1, at: Self.day(1)), try move(d0, to: 2, at: Self.day(2)), try win(d0, at: Self.day(3)),
    ]
    let (d1, o1) = try open("m-1", amount: 5_000_000, source: "site", at: Self.day(0))
    let (stall, stalled) = try object(d1, .stall, at: Self.day(2.5))
    events += [o1, try move(d1, to: 1, at: Self.day(2)), stalled, try lose(d1, after: stall, at: Self.day(4))]
    let (d2, o2) = try open("m-1", amount: 2_000_000, source: "site", at: Self.day(1))
    events += [o2, try estimate(d2, 40, at: Self.day(1.5))]
    let (d3, o3) = try open("m-2", amount: 1_000_000, source: "cold", at: Self.day(0))
    let (real, raised) = try object(d3, .real, at: Self.day(0.5))
    events += [o3, raised, try lose(d3, after: real, at: Self.day(1))]
    let (d4, o4) = try open("m-2", amount: 3_000_000, source: "cold", at: Self.day(1))
    events += [o4, try move(d4, to: 1, at: Self.day(2))]
    events += try lead(owner: "m-1", source: "site", status: .converted, at: Self.day(0))
    events += try lead(owner: "m-2", source: "cold", status: .rejected, at: Self.day(0))
    events.append(try hygiene("m-1"))
    events.append(try review(of: "m-1", score: 80))
    return events
  }

  func open(_ owner: String, amount: Int64, source: String, at: Date) throws -> (Deal, ReceivedEvent) {
    let deal = Deal(
      .with {
        $0.id = UUID().uuidString.lowercased()
        $0.contactID = UUID().uuidString.lowercased()
        $0.pipelineID = pipelineID
        $0.stageID = stages[0]
        $0.ownerID = owner
        $0.kind = .consultative
        $0.source = source
        $0.amount = .with {
          $0.minorUnits = amount
          $0.currency = "RUB"
        }
        $0.status = .open
        $0.probability = 20
        $0.openedAt = Google_Protobuf_Timestamp(date: at)
        $0.version = 1
      })
    return (deal, try dealEvent(Crm_Deals_V1_DealOpened.with { $0.deal = deal.deal }, deal, at: at))
  }

  func move(_ deal: Deal, to stage: Int, at: Date) throws -> ReceivedEvent {
    let from = deal.deal.stageID
    deal.deal.stageID = stages[stage]
    deal.deal.probability = Int32(20 + 30 * stage)
    deal.deal.version += 1
    return try dealEvent(
      Crm_Deals_V1_DealMoved.with {
        $0.deal = deal.deal
        $0.transition = .with {
          $0.fromStageID = from
          $0.toStageID = stages[stage]
          $0.movedAt = Google_Protobuf_Timestamp(date: at)
        }
      }, deal, at: at)
  }

  func object(_ deal: Deal, _ kind: Crm_Deals_V1_ObjectionKind, at: Date) throws -> (
    Crm_Deals_V1_Objection, ReceivedEvent
  ) {
    deal.deal.version += 1
    let objection = Crm_Deals_V1_Objection.with {
      $0.id = UUID().uuidString.lowercased()
      $0.stageID = deal.deal.stageID
      $0.reason = kind == .stall ? "подумаю" : "дорого"
      $0.kind = kind
      $0.raisedAt = Google_Protobuf_Timestamp(date: at)
    }
    let event = try dealEvent(
      Crm_Deals_V1_ObjectionRaised.with {
        $0.deal = deal.deal
        $0.objection = objection
      }, deal, at: at)
    return (objection, event)
  }

  func estimate(_ deal: Deal, _ probability: Int32, at: Date) throws -> ReceivedEvent {
    deal.deal.probability = probability
    deal.deal.ownerProbability = probability
    deal.deal.ownerEstimated = true
    deal.deal.version += 1
    return try dealEvent(Crm_Deals_V1_ProbabilityEstimated.with { $0.deal = deal.deal }, deal, at: at)
  }

  func win(_ deal: Deal, at: Date) throws -> ReceivedEvent {
    deal.deal.status = .won
    deal.deal.closedAt = Google_Protobuf_Timestamp(date: at)
    deal.deal.version += 1
    return try dealEvent(Crm_Deals_V1_DealWon.with { $0.deal = deal.deal }, deal, at: at)
  }

  func lose(_ deal: Deal, after objection: Crm_Deals_V1_Objection, at: Date) throws -> ReceivedEvent {
    deal.deal.status = .lost
    deal.deal.lossStageID = deal.deal.stageID
    deal.deal.lossReason = "цена"
    deal.deal.closedAt = Google_Protobuf_Timestamp(date: at)
    deal.deal.version += 1
    return try dealEvent(
      Crm_Deals_V1_DealLost.with {
        $0.deal = deal.deal
        $0.lastObjection = objection
      }, deal, at: at)
  }

  func dealEvent(_ payload: some Message, _ deal: Deal, at: Date) throws -> ReceivedEvent {
    try Self.event(payload, topic: EventTopics.deals, aggregateID: deal.deal.id, version: deal.deal.version, at: at)
  }

  func lead(owner: String, source: String, status: Crm_Contacts_V1_LeadStatus, at: Date) throws -> [ReceivedEvent] {
    var lead = Crm_Contacts_V1_Lead.with {
      $0.id = UUID().uuidString.lowercased()
      $0.name = "Лид"
      $0.source = source
      $0.ownerID = owner
      $0.businessLine = "training"
      $0.status = .open
      $0.createdAt = Google_Protobuf_Timestamp(date: at)
      $0.version = 1
    }
    let created = try Self.event(
      Crm_Contacts_V1_LeadCreated.with { $0.lead = lead }, topic: EventTopics.contacts, aggregateID: lead.id,
      version: 1, at: at)
    lead.version = 2
    lead.status = status
    let closed: any Message
    if status == .converted {
      closed = Crm_Contacts_V1_LeadConverted.with { $0.lead = lead }
    } else {
      lead.rejectionReason = "нет бюджета"
      closed = Crm_Contacts_V1_LeadRejected.with { $0.lead = lead }
    }
    return [
      created,
      try Self.event(
        closed, topic: EventTopics.contacts, aggregateID: lead.id, version: 2, at: at.addingTimeInterval(3_600)),
    ]
  }

  func hygiene(_ manager: String) throws -> ReceivedEvent {
    try Self.event(
      Crm_Activity_V1_HygieneReported.with {
        $0.report = .with {
          $0.managerID = manager
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
      }, topic: EventTopics.activity, aggregateID: "hygiene:\(manager)", version: 20_459, at: Self.day(0.9))
  }

  func review(of manager: String, score: Double) throws -> ReceivedEvent {
    let codes = try ReviewCodes(key: Array(TestIdentity.reviewCodeKey.utf8))
    let item =
      "ITEM"
      + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").uppercased().prefix(12))
      .map { $0.isNumber ? "A" : $0 }
    return try Self.event(
      Crm_Qualitycontrol_V1_ReviewSubmitted.with {
        $0.review = .with {
          $0.id = UUID().uuidString.lowercased()
          $0.itemID = item
          $0.pass = 1
          $0.weightedScore = score
          $0.submittedAt = Google_Protobuf_Timestamp(date: Self.day(3))
        }
        $0.repCode = codes.code(.rep, manager)
        $0.occurredAt = Google_Protobuf_Timestamp(date: Self.day(2))
      }, topic: EventTopics.qualityControl, aggregateID: item, version: 1, at: Self.day(3))
  }

  static func event(_ payload: any Message, topic: String, aggregateID: String, version: Int64, at: Date) throws
    -> ReceivedEvent
  {
    var envelope = Crm_Events_V1_EventEnvelope()
    envelope.eventID = UUID().uuidString.lowercased()
    envelope.type = Swift.type(of: payload).protoMessageName
    envelope.occurredAt = Google_Protobuf_Timestamp(date: at)
    envelope.aggregateID = aggregateID
    envelope.actor = "test"
    envelope.payload = Data(try payload.serializedBytes() as [UInt8])
    envelope.aggregateVersion = version
    let bytes: [UInt8] = try envelope.serializedBytes()
    return ReceivedEvent(
      envelope: envelope,
      record: KafkaConsumerMessage(
        topic: topic, partition: 0, offset: offset.add(1, ordering: .relaxed).newValue, key: Array(aggregateID.utf8),
        value: bytes, headers: []))
  }
}
