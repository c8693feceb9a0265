import CRMContracts
import CRMEvents
import CRMKafka
import CRMReview
import CRMTestSupport
import Foundation
import SwiftProtobuf
import Synchronization

/// A small sales history for the JSON API's tests, as the envelopes the other services publish:
/// one pipeline of three stages; m-1 wins one deal (moved 1 → 2 → 3) and loses one at stage 2
/// after a stall; m-2 loses one at stage 1 after a real objection and leaves one open at stage 1
/// (stalled); leads converted and rejected; an end-of-day report each, a card each, a QC review
/// of m-1's rep code.
struct APISeed {
  /// 2026-01-05 00:00 UTC, a Monday.
  static let start = Date(timeIntervalSince1970: 1_767_571_200)
  static func day(_ days: Double) -> Date { start.addingTimeInterval(days * 86_400) }
  static let offset = Atomic<Int64>(0)

  let pipelineID = UUID().uuidString.lowercased()
  let stages = (0..<3).map { _ in UUID().uuidString.lowercased() }

  func history(codes: ReviewCodes) throws -> [ReceivedEvent] {
    var events = [
      try Self.event(
        Crm_Deals_V1_PipelineDefined.with {
          $0.pipeline = .with {
            $0.id = pipelineID
            $0.businessLine = "training"
            $0.name = "Обучение"
            $0.version = 1
            $0.lossReasons = ["price", "timing"]
            $0.stages = stages.enumerated().map { index, id in
              .with {
                $0.id = id
                $0.name = "Этап \(index + 1)"
                $0.result = "Этап \(index + 1) пройден"
                $0.position = Int32(index + 1)
                $0.defaultProbability = Int32(20 + 30 * index)
              }
            }
          }
        }, topic: EventTopics.deals, aggregateID: pipelineID, version: 1, at: Self.day(0))
    ]
    var won = deal(owner: "m-1", amount: 100_000)
    events += [try opened(&won, at: Self.day(0)), try moved(&won, to: 1, at: Self.day(1))]
    events += [try moved(&won, to: 2, at: Self.day(2)), try closed(&won, won: true, at: Self.day(3))]
    var stalled = deal(owner: "m-1", amount: 50_000)
    events += [try opened(&stalled, at: Self.day(0)), try moved(&stalled, to: 1, at: Self.day(1))]
    let stall = objection(stalled, .stall, at: Self.day(2))
    events += [try raised(&stalled, stall), try closed(&stalled, won: false, after: stall, at: Self.day(3))]
    var lost = deal(owner: "m-2", amount: 30_000)
    let real = objection(lost, .real, at: Self.day(1))
    events += [try opened(&lost, at: Self.day(0)), try raised(&lost, real)]
    events.append(try closed(&lost, won: false, after: real, at: Self.day(2)))
    var open = deal(owner: "m-2", amount: 20_000)
    events.append(try opened(&open, at: Self.day(1)))
    events += try lead(owner: "m-1", status: .converted) + lead(owner: "m-2", status: .rejected)
    events += [try hygiene("m-1", unprocessed: 1), try hygiene("m-2", unprocessed: 4)]
    events += [try card(owner: "m-1"), try card(owner: "m-2")]
    events.append(try review(codes.code(.rep, "m-1"), score: 80, at: Self.day(2)))
    return events
  }

  func deal(owner: String, amount: Int64) -> Crm_Deals_V1_Deal {
    .with {
      $0.id = UUID().uuidString.lowercased()
      $0.contactID = UUID().uuidString.lowercased()
      $0.pipelineID = pipelineID
      $0.stageID = stages[0]
      $0.ownerID = owner
      $0.kind = .consultative
      $0.source = "site"
      $0.amount = .with {
        $0.minorUnits = amount
        $0.currency = "RUB"
      }
      $0.status = .open
      $0.probability = 20
      $0.version = 0
    }
  }

  func opened(_ deal: inout Crm_Deals_V1_Deal, at: Date) throws -> ReceivedEvent {
    deal.openedAt = Google_Protobuf_Timestamp(date: at)
    deal.version += 1
    return try Self.event(Crm_Deals_V1_DealOpened.with { [deal] in $0.deal = deal }, deal, at: at)
  }

  func moved(_ deal: inout Crm_Deals_V1_Deal, to stage: Int, at: Date) throws -> ReceivedEvent {
    let from = deal.stageID
    deal.stageID = stages[stage]
    deal.probability = Int32(20 + 30 * stage)
    deal.version += 1
    return try Self.event(
      Crm_Deals_V1_DealMoved.with { [deal, stages] in
        $0.deal = deal
        $0.transition = .with {
          $0.fromStageID = from
          $0.toStageID = stages[stage]
          $0.movedAt = Google_Protobuf_Timestamp(date: at)
        }
      }, deal, at: at)
  }

  func objection(_ deal: Crm_Deals_V1_Deal, _ kind: Crm_Deals_V1_ObjectionKind, at: Date) -> Crm_Deals_V1_Objection {
    .with {
      $0.id = UUID().uuidString.lowercased()
      $0.stageID = deal.stageID
      $0.reason = kind == .stall ? "Я подумаю" : "Дорого"
      $0.kind = kind
      $0.raisedAt = Google_Protobuf_Timestamp(date: at)
    }
  }

  func raised(_ deal: inout Crm_Deals_V1_Deal, _ objection: Crm_Deals_V1_Objection) throws -> ReceivedEvent {
    deal.version += 1
    return try Self.event(
      Crm_Deals_V1_ObjectionRaised.with { [deal] in
        $0.deal = deal
        $0.objection = objection
      }, deal, at: objection.raisedAt.date)
  }

  func closed(_ deal: inout Crm_Deals_V1_Deal, won: Bool, after objection: Crm_Deals_V1_Objection? = nil, at: Date)
    throws -> ReceivedEvent
  {
    deal.status = won ? .won : .lost
    deal.closedAt = Google_Protobuf_Timestamp(date: at)
    deal.version += 1
    if won { return try Self.event(Crm_Deals_V1_DealWon.with { [deal] in $0.deal = deal }, deal, at: at) }
    deal.lossStageID = deal.stageID
    deal.lossReason = "price"
    return try Self.event(
      Crm_Deals_V1_DealLost.with { [deal] in
        $0.deal = deal
        if let objection { $0.lastObjection = objection }
      }, deal, at: at)
  }

  func lead(owner: String, status: Crm_Contacts_V1_LeadStatus) throws -> [ReceivedEvent] {
    var lead = Crm_Contacts_V1_Lead.with {
      $0.id = UUID().uuidString.lowercased()
      $0.name = "Лид"
      $0.source = "site"
      $0.ownerID = owner
      $0.businessLine = "training"
      $0.status = .open
      $0.createdAt = Google_Protobuf_Timestamp(date: Self.day(0))
      $0.version = 1
    }
    let created = try Self.event(
      Crm_Contacts_V1_LeadCreated.with { [lead] in $0.lead = lead }, topic: EventTopics.contacts, aggregateID: lead.id,
      version: 1, at: Self.day(0))
    lead.version = 2
    lead.status = status
    let closed: any Message =
      if status == .converted {
        Crm_Contacts_V1_LeadConverted.with { [lead] in $0.lead = lead }
      } else {
        Crm_Contacts_V1_LeadRejected.with { [lead] in
          $0.lead = lead
          $0.lead.rejectionReason = "не наш клиент"
        }
      }
    return [
      created,
      try Self.event(closed, topic: EventTopics.contacts, aggregateID: lead.id, version: 2, at: Self.day(0.5)),
    ]
  }

  func hygiene(_ manager: String, unprocessed: Int32) throws -> ReceivedEvent {
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
          $0.unprocessedDealCount = unprocessed
        }
      }, topic: EventTopics.activity, aggregateID: "hygiene:\(manager)", version: 1, at: Self.day(0.9))
  }

  func card(owner: String) throws -> ReceivedEvent {
    let id = UUID().uuidString.lowercased()
    return try Self.event(
      Crm_Contacts_V1_ContactCreated.with {
        $0.contact = .with {
          $0.id = id
          $0.name = "Клиент"
          $0.ownerID = owner
          $0.position = "Закупщик"
          $0.version = 1
        }
      }, topic: EventTopics.contacts, aggregateID: id, version: 1, at: Self.day(0))
  }

  func review(_ repCode: String, score: Double, at: Date) throws -> ReceivedEvent {
    try Self.event(
      Crm_Qualitycontrol_V1_ReviewSubmitted.with {
        $0.review = .with {
          $0.id = UUID().uuidString.lowercased()
          $0.itemID = "ITEMAPI234567ABCD"
          $0.pass = 1
          $0.weightedScore = score
          $0.submittedAt = Google_Protobuf_Timestamp(date: at)
        }
        $0.repCode = repCode
        $0.occurredAt = Google_Protobuf_Timestamp(date: at)
      }, topic: EventTopics.qualityControl, aggregateID: "ITEMAPI234567ABCD", version: 1, at: at)
  }

  static func event(_ payload: some Message, _ deal: Crm_Deals_V1_Deal, at: Date) throws -> ReceivedEvent {
    try event(payload, topic: EventTopics.deals, aggregateID: deal.id, version: deal.version, at: at)
  }

  /// The envelope as the producing service's outbox writes it, as the inbox hands it over.
  static func event(_ payload: any Message, topic: String, aggregateID: String, version: Int64, at: Date) throws
    -> ReceivedEvent
  {
    var envelope = Crm_Events_V1_EventEnvelope()
    envelope.eventID = UUID().uuidString.lowercased()
    envelope.type = type(of: payload).protoMessageName
    envelope.occurredAt = Google_Protobuf_Timestamp(date: at)
    envelope.aggregateID = aggregateID
    envelope.actor = "test"
    envelope.payload = try payload.serializedData()
    envelope.aggregateVersion = version
    let bytes: [UInt8] = try envelope.serializedBytes()
    return ReceivedEvent(
      envelope: envelope,
      record: KafkaConsumerMessage(
        topic: topic, partition: 0, offset: offset.add(1, ordering: .relaxed).newValue,
        key: Array(aggregateID.utf8), value: bytes, headers: []))
  }
}
