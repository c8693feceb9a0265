import CRMContracts
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ReportingService

/// End-of-day discipline and card completeness over `TeamFlow`: the manager who breaks the rules
/// and gets worse, the one who fills only the mandatory fields, and who sees which rows.
@Suite("Reporting discipline and card completeness")
struct DisciplineTests {
  static func withHistory(_ body: (ReportingHarness.Context, TeamFlow) async throws -> Void) async throws {
    try await ReportingHarness.with { context in
      let flow = TeamFlow()
      try await context.deliver(try flow.history())
      try await body(context, flow)
    }
  }

  @Test func violationsPerManagerPerWeekWithTheirTrend() async throws {
    try await Self.withHistory { context, _ in
      let reply = try await context.reporting.getDiscipline(.init())
      #expect(reply.managers.map(\.managerID) == ["", "m-1", "m-2", "m-3"] && reply.managers[0].team)
      let late = try #require(reply.managers.first { $0.managerID == "m-3" })
      let counts = late.counts
      #expect(
        [counts.days, counts.unprocessedDeals, counts.dealsWithoutOpenTask, counts.dealsWithOverdueTask] == [
          10, 35, 25, 15,
        ])
      #expect(counts.violations == 75 && counts.violationsPerDay == 7.5)
      #expect(late.weeks.map(\.start.date) == [SalesFlow.day(0), SalesFlow.day(7)])
      #expect(late.weeks.map(\.counts.violationsPerDay) == [6, 9])
      #expect(abs(late.trendPerWeek - 3) < 1e-9, "6 a day, then 9: three more a day per week")
      let steady = try #require(reply.managers.first { $0.managerID == "m-2" })
      #expect(steady.counts.violationsPerDay == 1 && steady.trendPerWeek == 0)
      let team = reply.managers[0]
      #expect(team.weeks.map(\.counts.days) == [11, 5] && team.weeks.map(\.counts.violations) == [38, 45])
      #expect(team.counts.violations == 83)

      // Week 1 only: m-3 alone reported then.
      let second = try await context.reporting.getDiscipline(
        .with {
          $0.period.from = Google_Protobuf_Timestamp(date: SalesFlow.day(7))
          $0.period.to = Google_Protobuf_Timestamp(date: SalesFlow.day(12))
        })
      #expect(second.managers.map(\.managerID) == ["", "m-3"] && second.managers[1].counts.days == 5)
    }
  }

  @Test func aManagerSeesHisDisciplineAndTheTeamsOnly() async throws {
    try await Self.withHistory { context, _ in
      let mine = try await context.as("manager:m-2") { try await context.reporting.getDiscipline(.init()) }
      #expect(mine.managers.map(\.managerID) == ["", "m-2"] && mine.managers[0].counts.violations == 83)
      let other = try await context.as("manager:m-2") {
        try await context.reporting.getDiscipline(.with { $0.managerID = "m-3" })
      }
      #expect(other.managers.map(\.managerID) == [""])
      let cards = try await context.as("manager:m-2") { try await context.reporting.getCardCompleteness(.init()) }
      #expect(cards.managers.map(\.managerID) == ["", "m-2"])
      for caller in ["qc_reviewer:r-1", "qc_head:q-1"] {
        let code = await statusCode {
          try await context.as(caller) { try await context.reporting.getDiscipline(.init()) }
        }
        #expect(code == .permissionDenied, "\(caller)")
      }
    }
  }

  @Test func theManagerWhoFillsOnlyTheMandatoryFieldsStandsOut() async throws {
    try await Self.withHistory { context, _ in
      let reply = try await context.reporting.getCardCompleteness(.init())
      #expect(reply.managers.map(\.managerID) == ["", "m-1", "m-2", "m-3"])
      let bare = try #require(reply.managers.first { $0.managerID == "m-2" })
      #expect(bare.contacts == 3 && bare.contactFieldsFilled == 0 && bare.contactShare == 0)
      #expect(bare.mandatoryOnlyContacts == 3 && bare.contactFieldsTotal == 3 * 8)
      let full = try #require(reply.managers.first { $0.managerID == "m-3" })
      #expect(full.contactShare == 10.0 / 16 && full.mandatoryOnlyContacts == 0)
      let team = reply.managers[0]
      #expect(team.contacts == 6 && team.contactFieldsFilled == 12 && team.contactFieldsTotal == 48)
      // Deals: m-1 estimated one of his three (none has an expected close date); m-3 none of three.
      let first = try #require(reply.managers.first { $0.managerID == "m-1" })
      #expect(first.deals == 3 && first.dealFieldsFilled == 1 && first.dealFieldsTotal == 6)
      #expect(full.deals == 3 && full.dealShare == 0)
      #expect(team.deals == 8 && team.dealFieldsFilled == 1)
    }
  }

  @Test func badRequestsNameTheirField() async throws {
    try await Self.withHistory { context, _ in
      do {
        _ = try await context.reporting.getDiscipline(
          .with {
            $0.period.from = Google_Protobuf_Timestamp(date: SalesFlow.day(2))
            $0.period.to = Google_Protobuf_Timestamp(date: SalesFlow.day(1))
          })
        Issue.record("a backwards period was accepted")
      } catch let error as RPCError {
        #expect(error.code == .invalidArgument && error.message.contains("period"))
      }
      do {
        _ = try await context.reporting.getCardCompleteness(.with { $0.managerID = "bad\u{0}id" })
        Issue.record("a control character was accepted")
      } catch let error as RPCError {
        #expect(error.code == .invalidArgument && error.message.contains("manager_id"))
      }
    }
  }
}
