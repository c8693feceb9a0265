import CRMContracts
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ReportingService

/// The RPCs over the hand-built history (`SalesFlow`): funnel counts, conversions with their
/// Wilson intervals, medians, filters; the lead funnel; losses real against stall; stalled deals;
/// and who sees which rows.
@Suite("Reporting RPCs")
struct ReportTests {
  static func withHistory(_ body: (ReportingHarness.Context, SalesFlow) async throws -> Void) async throws {
    try await ReportingHarness.with { context in
      let flow = SalesFlow()
      try await context.deliver(try flow.history())
      try await body(context, flow)
    }
  }

  @Test func theFunnelCountsEachStageForTheTeamAndEachManager() async throws {
    try await Self.withHistory { context, flow in
      let funnel = try await context.reporting.getFunnel(.with { $0.pipelineID = flow.pipelineID })
      func row(_ stage: Int, _ owner: String = "") throws -> Crm_Reporting_V1_GetFunnelReply.Row {
        try #require(funnel.rows.first { $0.stageID == flow.stages[stage] && $0.ownerID == owner })
      }
      #expect(funnel.rows.map(\.position) == funnel.rows.map(\.position).sorted())
      let first = try row(0)
      #expect(first.team && first.stageName == "Stage 1")
      #expect(
        [first.entered, first.advanced, first.lost, first.won, first.open, first.skipped] == [5, 3, 1, 0, 1, 0])
      #expect(first.conversionToNext.successes == 3 && first.conversionToNext.trials == 4)
      let wilson = WilsonInterval(successes: 3, trials: 4)
      #expect(first.conversionToNext.lower == wilson.lower && first.conversionToNext.upper == wilson.upper)
      #expect(
        abs(first.conversionToNext.lower - 0.3006) < 0.000_1 && abs(first.conversionToNext.upper - 0.9544) < 0.000_1)
      #expect(first.conversionToWon.successes == 1 && first.conversionToWon.trials == 3)
      // Stays at stage 1 of 1, 2, 1 and 5 days.
      #expect(first.medianSecondsInStage == Median.of([1, 2, 1, 5].map { $0 * 86_400.0 }))
      #expect(first.leftStays == 4)

      let second = try row(1)
      #expect([second.entered, second.advanced, second.lost, second.open] == [3, 1, 1, 1])
      #expect(second.medianSecondsInStage == 2 * 86_400)
      let third = try row(2)
      #expect(third.entered == 0 && third.skipped == 1 && third.conversionToNext.trials == 0)
      let fourth = try row(3)
      #expect(fourth.entered == 1 && fourth.won == 1 && fourth.conversionToWon.value == 1)

      // Who opens well and closes badly: m-1 moved all three of his on, m-2 lost one of two.
      let first1 = try row(0, "m-1")
      let first2 = try row(0, "m-2")
      #expect(!first1.team && first1.entered == 3 && first1.advanced == 3 && first1.conversionToNext.value == 1)
      #expect(first2.entered == 2 && first2.lost == 1 && first2.open == 1 && first2.conversionToNext.value == 0)
      let skippedBy1 = try row(2, "m-1")
      #expect(skippedBy1.skipped == 1 && skippedBy1.entered == 0, "m-1 passed over stage 3")
      #expect(funnel.rows.filter { $0.stageID == flow.stages[2] }.count == 2, "nobody else was there")
    }
  }

  @Test func theFunnelFiltersByKindSourceAndPeriod() async throws {
    try await Self.withHistory { context, flow in
      let active = try await context.reporting.getFunnel(
        .with {
          $0.pipelineID = flow.pipelineID
          $0.kind = .active
        })
      #expect(active.rows.first { $0.team && $0.stageID == flow.stages[0] }?.entered == 2)
      #expect(active.rows.allSatisfy { $0.team || $0.ownerID == "m-2" })
      let site = try await context.reporting.getFunnel(
        .with {
          $0.pipelineID = flow.pipelineID
          $0.source = "site"
        })
      #expect(site.rows.first { $0.team && $0.stageID == flow.stages[0] }?.entered == 3)
      // Entered on day 1: D2, D3 and D4 at stage 1, D0 at stage 2.
      let dayOne = try await context.reporting.getFunnel(
        .with {
          $0.pipelineID = flow.pipelineID
          $0.period.from = Google_Protobuf_Timestamp(date: SalesFlow.day(1))
          $0.period.to = Google_Protobuf_Timestamp(date: SalesFlow.day(2))
        })
      #expect(dayOne.rows.filter(\.team).map(\.entered) == [3, 1, 0, 0])
    }
  }

  @Test func aManagerSeesHisRowsAndTheTeamsOnly() async throws {
    try await Self.withHistory { context, flow in
      let funnel = try await context.as("manager:m-1") {
        try await context.reporting.getFunnel(.with { $0.pipelineID = flow.pipelineID })
      }
      #expect(funnel.rows.contains { $0.ownerID == "m-1" })
      #expect(funnel.rows.allSatisfy { $0.team || $0.ownerID == "m-1" })
      #expect(funnel.rows.first { $0.team && $0.stageID == flow.stages[0] }?.entered == 5, "the team row is whole")
      // Asking for another manager leaves the team rows only; nothing is refused.
      let other = try await context.as("manager:m-1") {
        try await context.reporting.getFunnel(
          .with {
            $0.pipelineID = flow.pipelineID
            $0.ownerID = "m-2"
          })
      }
      #expect(!other.rows.isEmpty && other.rows.allSatisfy(\.team))
      let losses = try await context.as("manager:m-1") { try await context.reporting.getLosses(.init()) }
      #expect(losses.rows.allSatisfy { $0.team || $0.ownerID == "m-1" } && losses.lost == 2)
      let leads = try await context.as("manager:m-2") { try await context.reporting.getLeadFunnel(.init()) }
      #expect(leads.rows.allSatisfy { $0.team || $0.ownerID == "m-2" } && leads.rows.contains { $0.ownerID == "m-2" })
      let head = try await context.as("head_of_sales:h-1") {
        try await context.reporting.getFunnel(.with { $0.pipelineID = flow.pipelineID })
      }
      #expect(Set(head.rows.map(\.ownerID)) == ["", "m-1", "m-2"])
      for caller in ["qc_reviewer:r-1", "qc_head:q-1"] {
        let code = await statusCode {
          try await context.as(caller) {
            try await context.reporting.getFunnel(.with { $0.pipelineID = flow.pipelineID })
          }
        }
        #expect(code == .permissionDenied, "\(caller)")
      }
    }
  }

  @Test func badRequestsNameTheirField() async throws {
    try await Self.withHistory { context, flow in
      func failure(_ call: () async throws -> some Any) async -> (RPCError.Code?, String) {
        do {
          _ = try await call()
          return (nil, "")
        } catch let error as RPCError {
          return (error.code, error.message)
        } catch {
          return (.unknown, "\(error)")
        }
      }
      let noPipeline = await failure { try await context.reporting.getFunnel(.init()) }
      #expect(noPipeline.0 == .invalidArgument && noPipeline.1.contains("pipeline_id"))
      let unknown = await failure {
        try await context.reporting.getFunnel(.with { $0.pipelineID = UUID().uuidString.lowercased() })
      }
      #expect(unknown.0 == .notFound)
      let backwards = await failure {
        try await context.reporting.getFunnel(
          .with {
            $0.pipelineID = flow.pipelineID
            $0.period.from = Google_Protobuf_Timestamp(date: SalesFlow.day(2))
            $0.period.to = Google_Protobuf_Timestamp(date: SalesFlow.day(1))
          })
      }
      #expect(backwards.0 == .invalidArgument && backwards.1.contains("period"))
      let noDays = await failure { try await context.reporting.getStalledDeals(.init()) }
      #expect(noDays.0 == .invalidArgument && noDays.1.contains("days"))
      let forged = await failure {
        try await context.reporting.getStalledDeals(
          .with {
            $0.days = 3
            $0.page.pageToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
          })
      }
      #expect(forged.0 == .invalidArgument && forged.1.contains("page.page_token"))
    }
  }

  @Test func theLeadFunnelSplitsSourcesAndManagers() async throws {
    try await Self.withHistory { context, _ in
      let reply = try await context.reporting.getLeadFunnel(.init())
      let site = try #require(reply.rows.first { $0.source == "site" && $0.team })
      #expect([site.leads, site.converted, site.rejected, site.open] == [2, 1, 1, 0])
      #expect(site.rejections.map(\.reason) == ["spam"] && site.conversion.trials == 2)
      let cold = try #require(reply.rows.first { $0.source == "cold" && $0.ownerID == "m-2" })
      #expect([cold.leads, cold.converted, cold.rejected, cold.open] == [2, 0, 1, 1])
      #expect(cold.rejections.map(\.leads) == [1] && cold.rejections.first?.reason == "no need")
      #expect(reply.rows.map(\.source) == ["cold", "cold", "site", "site"])
    }
  }

  @Test func lossesSplitRealObjectionsFromStalls() async throws {
    try await Self.withHistory { context, flow in
      let reply = try await context.reporting.getLosses(.with { $0.pipelineID = flow.pipelineID })
      #expect(reply.lost == 2 && reply.real == 1 && reply.stall == 1)
      let stall = try #require(reply.rows.first { $0.team && $0.kind == .stall })
      #expect(stall.stageID == flow.stages[1] && stall.stageName == "Stage 2" && stall.reason == "price")
      #expect(stall.amounts.map(\.minorUnits) == [50_000] && stall.amounts.first?.currency == "RUB")
      let real = try #require(reply.rows.first { $0.ownerID == "m-2" })
      #expect(real.kind == .real && real.stageID == flow.stages[0] && real.deals == 1)
      let later = try await context.reporting.getLosses(
        .with { $0.period.from = Google_Protobuf_Timestamp(date: SalesFlow.day(3)) })
      #expect(later.lost == 1 && later.stall == 1)
    }
  }

  @Test func stalledDealsAreTheOpenOnesUntouchedForNDays() async throws {
    try await Self.withHistory { context, flow in
      let asOf = Google_Protobuf_Timestamp(date: SalesFlow.day(10))
      // D3 was opened on day 1 and called on day 2; D4 moved on day 6.
      let five = try await context.reporting.getStalledDeals(
        .with {
          $0.days = 5
          $0.asOf = asOf
        })
      #expect(five.deals.map(\.dealID) == [flow.deals[3]])
      #expect(five.deals.first?.idleSeconds == 8 * 86_400 && five.deals.first?.hasLastActivityAt == true)
      #expect(five.nextPageToken.isEmpty)
      // Longest idle first, a page at a time.
      var pages: [[String]] = []
      var token = ""
      repeat {
        let page = try await context.reporting.getStalledDeals(
          .with {
            $0.days = 3
            $0.asOf = asOf
            $0.page.pageSize = 1
            $0.page.pageToken = token
          })
        pages.append(page.deals.map(\.dealID))
        token = page.nextPageToken
      } while !token.isEmpty && pages.count < 5
      #expect(pages == [[flow.deals[3]], [flow.deals[4]]])
      // A manager lists his own; the counts per stage stay the team's.
      let mine = try await context.as("manager:m-1") {
        try await context.reporting.getStalledDeals(
          .with {
            $0.days = 3
            $0.asOf = asOf
          })
      }
      #expect(mine.deals.map(\.dealID) == [flow.deals[4]])
      #expect(mine.byStage.map(\.stageID) == [flow.stages[0], flow.stages[1]] && mine.byStage.map(\.deals) == [1, 1])
      let byStage = try await context.reporting.getStalledDeals(
        .with {
          $0.days = 3
          $0.asOf = asOf
          $0.stageID = flow.stages[1]
        })
      #expect(byStage.deals.map(\.dealID) == [flow.deals[4]])
    }
  }
}
