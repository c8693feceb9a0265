import CRMContracts
import CRMDomain
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import DealsService

/// History import (issue 16): an operator's `occurred_at` becomes the time of the row, of the
/// event's envelope and of its payload; anyone else's is refused, and so is a time to come, one
/// before 2000 or one before the deal's last change — with nothing written.
@Suite("Deals history import")
struct HistoryImportTests {
  static let day: TimeInterval = 86_400

  static func at(_ date: Date) -> Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: date) }

  @Test func aBackdatedOpenMoveAndWinKeepTheirTimesInRowsAndEvents() async throws {
    try await DealsHarness.with(caller: "operator:importer") { context in
      let pipeline = try await context.deals.definePipeline(DealsHarness.pipelineRequest(line: "equipment"))
      let contact = try await context.knownContact(owner: "manager-1")
      // Whole seconds: timestamptz keeps microseconds, and the times compare exactly.
      let opened = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - 40 * Self.day).rounded(.down))
      let moved = opened.addingTimeInterval(3 * Self.day)
      let estimated = moved.addingTimeInterval(3_600)
      let won = moved.addingTimeInterval(10 * Self.day)
      let deal = try await context.deals.openDeal(
        .with {
          $0.contactID = contact
          $0.pipelineID = pipeline.id
          $0.ownerID = "manager-1"
          $0.kind = .consultative
          $0.source = "exhibition"
          $0.occurredAt = Self.at(opened)
        })
      #expect(deal.openedAt.date == opened)
      let afterMove = try await context.deals.moveDeal(
        .with {
          $0.dealID = deal.id
          $0.toStageID = pipeline.stages[2].id
          $0.expectedVersion = deal.version
          $0.occurredAt = Self.at(moved)
        })
      let afterEstimate = try await context.deals.estimateProbability(
        .with {
          $0.dealID = deal.id
          $0.probability = 70
          $0.expectedVersion = afterMove.version
          $0.occurredAt = Self.at(estimated)
        })
      let closed = try await context.deals.winDeal(
        .with {
          $0.dealID = deal.id
          $0.expectedVersion = afterEstimate.version
          $0.occurredAt = Self.at(won)
        })
      #expect(closed.status == .won && closed.closedAt.date == won)

      // Rows.
      let history = try await context.deals.getDeal(.with { $0.dealID = deal.id })
      #expect(history.deal.openedAt.date == opened && history.deal.closedAt.date == won)
      #expect(history.transitions.map(\.movedAt.date) == [moved])

      // Envelopes and payloads.
      let openedEvent = try #require(try await context.events("crm.deals.v1.DealOpened").first)
      #expect(openedEvent.occurredAt.date == opened)
      #expect(try Crm_Deals_V1_DealOpened(serializedBytes: openedEvent.payload).deal.openedAt.date == opened)
      let movedEvent = try #require(try await context.events("crm.deals.v1.DealMoved").first)
      #expect(movedEvent.occurredAt.date == moved)
      #expect(try Crm_Deals_V1_DealMoved(serializedBytes: movedEvent.payload).transition.movedAt.date == moved)
      let estimateEvent = try #require(try await context.events("crm.deals.v1.ProbabilityEstimated").first)
      #expect(estimateEvent.occurredAt.date == estimated)
      let wonEvent = try #require(try await context.events("crm.deals.v1.DealWon").first)
      #expect(wonEvent.occurredAt.date == won)
      #expect(try Crm_Deals_V1_DealWon(serializedBytes: wonEvent.payload).deal.closedAt.date == won)
      // The actor stays the operator who imported it; the owner is the manager.
      #expect(wonEvent.actor == "operator:importer" && closed.ownerID == "manager-1")
    }
  }

  /// A clock a few seconds ahead of the service's is taken as now, not stored ahead: a change
  /// made a second later without a time would otherwise be stamped before it.
  @Test func aTimeWithinTheClockSkewAheadIsTakenAsNow() throws {
    let now = Date()
    #expect(try HistoryTime.requested(now.addingTimeInterval(3), byOperator: true, now: now) == now)
    let past = now.addingTimeInterval(-Self.day)
    #expect(try HistoryTime.requested(past, byOperator: true, now: now) == past)
    #expect(throws: InvalidField.self) {
      try HistoryTime.requested(now.addingTimeInterval(HistoryTime.clockSkew + 1), byOperator: true, now: now)
    }
  }

  @Test func withoutOccurredAtAChangeHappensNow() async throws {
    try await DealsHarness.with(caller: "operator:importer") { context in
      let pipeline = try await context.salesPipeline()
      let before = Date().addingTimeInterval(-1)
      let deal = try await context.openDeal(contact: try await context.knownContact(), pipeline: pipeline)
      let moved = try await context.deals.moveDeal(
        .with {
          $0.dealID = deal.id
          $0.toStageID = pipeline.stages[1].id
          $0.expectedVersion = deal.version
        })
      let after = Date().addingTimeInterval(1)
      #expect((before...after).contains(deal.openedAt.date) && moved.stageID == pipeline.stages[1].id)
      let event = try #require(try await context.events("crm.deals.v1.DealMoved").first)
      #expect((before...after).contains(event.occurredAt.date))
    }
  }

  @Test func aManagersOccurredAtIsRefusedAndNothingChanges() async throws {
    try await DealsHarness.with(caller: "manager:manager-1") { context in
      // The manager's own deal, set up through the repository (pipelines are a head's to define).
      let repository = PostgresDealsRepository(client: context.database, logger: DealsHarness.logger)
      let pipeline = try await repository.definePipeline(
        try PipelineDefinition.validate(DealsHarness.pipelineRequest(line: "equipment")), id: "", expectedVersion: 0,
        actor: "head_of_sales:head-1")
      let deal = try await context.openDeal(contact: try await context.knownContact(), pipeline: pipeline)
      let requests: [(String, () async throws -> Crm_Deals_V1_Deal)] = [
        (
          "MoveDeal",
          {
            try await context.deals.moveDeal(
              .with {
                $0.dealID = deal.id
                $0.toStageID = pipeline.stages[1].id
                $0.expectedVersion = deal.version
                $0.occurredAt = Self.at(Date().addingTimeInterval(-Self.day))
              })
          }
        ),
        (
          "WinDeal",
          {
            try await context.deals.winDeal(
              .with {
                $0.dealID = deal.id
                $0.expectedVersion = deal.version
                $0.occurredAt = Self.at(Date())
              })
          }
        ),
        (
          "OpenDeal",
          {
            try await context.deals.openDeal(
              .with {
                $0.contactID = deal.contactID
                $0.pipelineID = pipeline.id
                $0.ownerID = "manager-1"
                $0.kind = .active
                $0.occurredAt = Self.at(Date().addingTimeInterval(-Self.day))
              })
          }
        ),
      ]
      for (method, call) in requests {
        #expect(await statusCode { try await call() } == .permissionDenied, "\(method)")
        let message = await failure { try await call() }
        #expect(message.contains("occurred_at") && message.contains("operator"), "\(method): \(message)")
      }
      let current = try await context.deals.getDeal(.with { $0.dealID = deal.id })
      #expect(current.deal.version == deal.version && current.deal.status == .open && current.transitions.isEmpty)
      #expect(try await context.count("SELECT count(*)::int FROM deals") == 1)
      #expect(try await context.events("crm.deals.v1.DealMoved").isEmpty)
    }
  }

  @Test func aFutureAnOldAndAnOutOfOrderTimeAreRefusedWithNothingWritten() async throws {
    try await DealsHarness.with(caller: "operator:importer") { context in
      let pipeline = try await context.salesPipeline()
      let contact = try await context.knownContact()
      let opened = Date().addingTimeInterval(-20 * Self.day)
      let deal = try await context.deals.openDeal(
        .with {
          $0.contactID = contact
          $0.pipelineID = pipeline.id
          $0.ownerID = "manager-1"
          $0.kind = .active
          $0.occurredAt = Self.at(opened)
        })
      func move(at date: Date) -> Crm_Deals_V1_MoveDealRequest {
        .with {
          $0.dealID = deal.id
          $0.toStageID = pipeline.stages[1].id
          $0.expectedVersion = deal.version
          $0.occurredAt = Self.at(date)
        }
      }
      let refused: [(Date, String)] = [
        (Date().addingTimeInterval(3_600), "in the future"),
        (Date(timeIntervalSince1970: 900_000_000), "before 2000-01-01"),
        (opened.addingTimeInterval(-60), "before the last change of deal"),
      ]
      for (date, reason) in refused {
        #expect(await statusCode { try await context.deals.moveDeal(move(at: date)) } == .invalidArgument)
        let message = await failure { try await context.deals.moveDeal(move(at: date)) }
        #expect(message.contains("occurred_at") && message.contains(reason), "\(message)")
      }
      // A deal opened with a time to come is refused too.
      let future = await failure {
        try await context.deals.openDeal(
          .with {
            $0.contactID = contact
            $0.pipelineID = pipeline.id
            $0.ownerID = "manager-1"
            $0.kind = .active
            $0.occurredAt = Self.at(Date().addingTimeInterval(Self.day))
          })
      }
      #expect(future.contains("occurred_at"), "\(future)")
      let bad = await statusCode {
        try await context.deals.winDeal(
          .with {
            $0.dealID = deal.id
            $0.expectedVersion = deal.version
            $0.occurredAt = .with {
              $0.seconds = Int64(opened.timeIntervalSince1970) + 60
              $0.nanos = -1
            }
          })
      }
      #expect(bad == .invalidArgument)

      // Nothing written: the deal is where it was opened, with one event.
      let current = try await context.deals.getDeal(.with { $0.dealID = deal.id })
      #expect(current.deal.version == deal.version && current.deal.status == .open && current.transitions.isEmpty)
      #expect(try await context.events("crm.deals.v1.DealMoved").isEmpty)
      #expect(try await context.events("crm.deals.v1.DealOpened").count == 1)
      #expect(try await context.count("SELECT count(*)::int FROM deals") == 1)
    }
  }
}
