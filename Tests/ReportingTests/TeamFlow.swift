import CRMContracts
import CRMEvents
import CRMReview
import Foundation
import SwiftProtobuf

@testable import ReportingService

/// Managers planted beside `SalesFlow`'s for the discipline, card, QC and leaderboard reports:
/// m-3 breaks the end-of-day rules often (6 a day in week 0, 9 in week 1), fills cards well,
/// wins two RUB deals and one in EUR, logs four calls of which two items are reviewed (scores
/// 80 and 60 on two passes of one item, 90 on the other); m-2 breaks them once a day in week 0,
/// fills only the mandatory fields of three cards, and has one review (50). SalesFlow adds m-1's
/// report of day 0 (3 violations), his card (2 of 8), a review under a code nobody has.
struct TeamFlow {
  static let codes = ReportingHarness.repCodes
  static func code(_ manager: String) -> String { codes.code(.rep, manager) }

  let sales = SalesFlow()
  let extra = SalesFlow()

  func history() throws -> [ReceivedEvent] {
    var events = try sales.history()
    events += try (0..<5).map { try Self.hygiene("m-3", day: $0, 3, 2, 1) }
    events += try (7..<12).map { try Self.hygiene("m-3", day: $0, 4, 3, 2) }
    events += try (0..<5).map { try Self.hygiene("m-2", day: $0, 0, 1, 0) }
    events += try (0..<3).map { _ in try Self.card(owner: "m-2", full: false) }
    events += try (0..<2).map { _ in try Self.card(owner: "m-3", full: true) }
    events += try [0.0, 1, 7, 8].map {
      try SalesFlow.activity(on: UUID().uuidString.lowercased(), by: "m-3", at: SalesFlow.day($0))
    }
    events += [
      try Self.review(Self.code("m-3"), item: "ITEMONE234567ABC", pass: 1, score: 80, at: SalesFlow.day(1)),
      try Self.review(Self.code("m-3"), item: "ITEMONE234567ABC", pass: 2, score: 60, at: SalesFlow.day(1.5)),
      try Self.review(Self.code("m-3"), item: "ITEMTWO234567ABC", pass: 1, score: 90, at: SalesFlow.day(8)),
      try Self.review(Self.code("m-2"), item: "ITEMTRE234567ABC", pass: 1, score: 50, at: SalesFlow.day(2)),
    ]
    events.append(try extra.pipelineDefined())
    for (index, (amount, currency)) in [(300_000, "RUB"), (200_000, "RUB"), (999_999, "EUR")].enumerated() {
      let (deal, opened) = try extra.open(
        index, owner: "m-3", kind: .active, source: "fair", amount: Int64(amount), at: SalesFlow.day(1))
      deal.deal.amount.currency = currency
      events += [opened, try extra.win(deal, at: SalesFlow.day(9))]
    }
    return events
  }

  static func hygiene(_ manager: String, day: Int, _ unprocessed: Int32, _ withoutTask: Int32, _ overdue: Int32)
    throws -> ReceivedEvent
  {
    try Envelopes.event(
      Crm_Activity_V1_HygieneReported.with {
        $0.report = .with {
          $0.managerID = manager
          $0.day = .with {
            $0.year = 2026
            $0.month = 1
            $0.day = Int32(5 + day)
          }
          $0.workingDay = true
          $0.unprocessedDealCount = unprocessed
          $0.dealsWithoutOpenTaskCount = withoutTask
          $0.dealsWithOverdueTaskCount = overdue
        }
      }, topic: EventTopics.activity, aggregateID: "hygiene:\(manager)", version: Int64(21_000 + day),
      at: SalesFlow.day(Double(day) + 0.9))
  }

  static func review(_ repCode: String, item: String, pass: Int32, score: Double, at: Date) throws -> ReceivedEvent {
    try Envelopes.event(
      Crm_Qualitycontrol_V1_ReviewSubmitted.with {
        $0.review = .with {
          $0.id = UUID().uuidString.lowercased()
          $0.itemID = item
          $0.pass = pass
          $0.weightedScore = score
          $0.submittedAt = Google_Protobuf_Timestamp(date: at)
        }
        $0.repCode = repCode
        $0.occurredAt = Google_Protobuf_Timestamp(date: at)
      }, topic: EventTopics.qualityControl, aggregateID: item, version: Int64(pass), at: at)
  }

  /// A card of the name alone, or with five optional fields (phones, e-mails, position,
  /// address, notes).
  static func card(owner: String, full: Bool) throws -> ReceivedEvent {
    let id = UUID().uuidString.lowercased()
    return try Envelopes.event(
      Crm_Contacts_V1_ContactCreated.with {
        $0.contact = .with {
          $0.id = id
          $0.name = "Client"
          $0.ownerID = owner
          if full {
            $0.phones = [.with { $0.number = "+79123456780" }]
            $0.emails = [.with { $0.address = "client@example.com" }]
            $0.position = "Buyer"
            $0.address = "Main street 1"
            $0.notes = "Wants a trailer"
          }
          $0.version = 1
        }
      }, topic: EventTopics.contacts, aggregateID: id, version: 1, at: SalesFlow.day(0))
  }
}
