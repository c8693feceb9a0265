import CRMContracts
import CRMDomain
import Foundation
import SwiftProtobuf
import Testing

@testable import ReportingService

/// The pure decoding of payloads into read-model changes: hostile content is named, unknown
/// types and previews change nothing, the kind of a loss and a card's completeness are read.
@Suite("Reporting projected changes")
struct ProjectedChangeTests {
  static let now = Date(timeIntervalSince1970: 1_767_571_200)

  static func deal(_ change: (inout Crm_Deals_V1_Deal) -> Void = { _ in }) -> Crm_Deals_V1_Deal {
    var deal = Crm_Deals_V1_Deal.with {
      $0.id = "d-1"
      $0.pipelineID = "p-1"
      $0.stageID = "s-1"
      $0.ownerID = "m-1"
      $0.status = .open
      $0.openedAt = Google_Protobuf_Timestamp(date: now)
      $0.version = 1
    }
    change(&deal)
    return deal
  }

  static func decode(_ payload: some Message, occurredAt: Date? = now) throws -> ProjectedChange? {
    try ProjectedChange.decode(
      type: type(of: payload).protoMessageName, payload: try payload.serializedData(), occurredAt: occurredAt)
  }

  @Test func hostileTextsAndStatesAreNamed() throws {
    let cases: [(Crm_Deals_V1_Deal, String)] = [
      (Self.deal { $0.ownerID = "m\u{0}1" }, "deal.owner_id"),
      (Self.deal { $0.ownerID = String(repeating: "m", count: 201) }, "deal.owner_id"),
      (Self.deal { $0.status = .unspecified }, "deal.status"),
      (Self.deal { $0.probability = 101 }, "deal.probability"),
      (Self.deal { $0.version = 0 }, "deal.version"),
      (
        Self.deal {
          $0.expectedClose = .with {
            $0.year = 2026
            $0.month = 2
            $0.day = 30
          }
        }, "deal.expected_close"
      ),
      (Self.deal { $0.stageID = "" }, "deal.stage_id"),
    ]
    for (deal, field) in cases {
      #expect(throws: InvalidField.self) { try Self.decode(Crm_Deals_V1_DealOpened.with { $0.deal = deal }) }
      do {
        _ = try Self.decode(Crm_Deals_V1_DealOpened.with { $0.deal = deal })
      } catch let error as InvalidField {
        #expect(error.field == field)
      }
    }
    #expect(throws: InvalidField.self) {
      try ProjectedChange.decode(
        type: Crm_Deals_V1_DealMoved.protoMessageName, payload: Data([0xFF, 0x01]), occurredAt: Self.now)
    }
  }

  @Test func unknownTypesAndPreviewsChangeNothing() throws {
    #expect(try ProjectedChange.decode(type: "crm.deals.v1.DealReopened", payload: Data(), occurredAt: nil) == nil)
    #expect(!ProjectedChange.projects("crm.deals.v1.DealReopened"))
    #expect(ProjectedChange.projects(Crm_Deals_V1_DealWon.protoMessageName))
    let preview = Crm_Activity_V1_HygieneReported.with {
      $0.report = .with {
        $0.managerID = "m-1"
        $0.preview = true
      }
    }
    #expect(try Self.decode(preview) == nil)
  }

  @Test func aLossCarriesTheKindOfTheLastObjection() throws {
    let lost = Self.deal {
      $0.status = .lost
      $0.lossStageID = "s-1"
      $0.lossReason = "price"
      $0.closedAt = Google_Protobuf_Timestamp(date: Self.now.addingTimeInterval(60))
      $0.version = 3
    }
    for (kind, expected) in [(Crm_Deals_V1_ObjectionKind.stall, "stall"), (.real, "real"), (.unspecified, nil)] {
      let change = try Self.decode(
        Crm_Deals_V1_DealLost.with {
          $0.deal = lost
          if kind != .unspecified { $0.lastObjection.kind = kind }
        }, occurredAt: Self.now.addingTimeInterval(3_600))
      guard case .deal(let row, let step) = change else {
        Issue.record("not a deal change: \(String(describing: change))")
        continue
      }
      #expect(row.lossKind == expected)
      #expect(step == .closed(outcome: "lost", at: Self.now.addingTimeInterval(60)))
      #expect(row.occurredAt == Self.now.addingTimeInterval(60), "the close's own time, not the envelope's")
    }
  }

  @Test func aMoveWithoutItsTimeTakesTheEnvelopes() throws {
    let moved = Crm_Deals_V1_DealMoved.with {
      $0.deal = Self.deal { $0.version = 2 }
      $0.transition = .with {
        $0.fromStageID = "s-1"
        $0.toStageID = "s-3"
        $0.skippedStageIds = ["s-2"]
      }
    }
    let change = try Self.decode(moved, occurredAt: Self.now.addingTimeInterval(5))
    #expect(
      change.map { if case .deal(_, let step) = $0 { step } else { DealStep.none } }
        == .moved(
          from: "s-1", to: "s-3", skipped: ["s-2"], at: Self.now.addingTimeInterval(5)))
    #expect(throws: InvalidField.self) { try Self.decode(moved, occurredAt: nil) }
  }

  @Test func aCardCountsItsOptionalFields() {
    let bare = Crm_Contacts_V1_Contact.with {
      $0.name = "Анна"
      $0.ownerID = "m-1"
      $0.position = "   "
    }
    #expect(CardCompleteness(bare).filled == 0 && CardCompleteness(bare).total == 8)
    var full = bare
    full.phones = [.with { $0.number = "+79123456789" }]
    full.emails = [.with { $0.address = "a@example.com" }]
    full.position = "CEO"
    full.address = "Moscow"
    full.birthday = .with {
      $0.month = 3
      $0.day = 8
    }
    full.notes = "met at the fair"
    full.tags = ["vip"]
    full.companies = [.with { $0.companyID = UUID().uuidString }]
    #expect(CardCompleteness(full).filled == 8)
  }
}
