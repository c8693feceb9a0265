import CRMContracts
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ReportingService

/// GetForecast over a planted team, projected from deal events: one manager who states 80% and
/// wins 40% of 60 deals, one honest at 50% over 50, one with 2 closed deals; their open deals.
@Suite("Reporting forecast RPC")
struct ForecastReportTests {
  /// The planted closed records, as `CalibrationRecord`s would sum them by hand.
  static let records = [
    CalibrationRecord(owner: "m-inflated", closed: 60, won: 24, statedPercent: 60 * 80),
    CalibrationRecord(owner: "m-honest", closed: 50, won: 25, statedPercent: 50 * 50),
    CalibrationRecord(owner: "m-new", closed: 2, won: 1, statedPercent: 2 * 60),
  ]

  static func withTeam(_ body: (ReportingHarness.Context, ForecastFlow) async throws -> Void) async throws {
    try await ReportingHarness.with { context in
      let flow = ForecastFlow()
      var events = [try flow.pipelineDefined()]
      events += try flow.closed(
        owner: "m-inflated", count: 60, won: 24, probability: 80, at: ForecastFlow.day(1),
        closedAt: ForecastFlow.day(20))
      events += try flow.closed(
        owner: "m-honest", count: 50, won: 25, probability: 50, at: ForecastFlow.day(1), closedAt: ForecastFlow.day(20))
      events += try flow.closed(
        owner: "m-new", count: 2, won: 1, probability: 60, at: ForecastFlow.day(1), closedAt: ForecastFlow.day(20))
      // Open: m-inflated 100 000 and 50 000 RUB at 80%, 10 000 USD at the stage's 20%; m-honest
      // 200 000 RUB at 50%; m-new 40 000 RUB at the stage's 20%; m-fresh (nothing closed) 10 000 RUB at 90%.
      events += try flow.opened(owner: "m-inflated", amount: 100_000, probability: 80, at: ForecastFlow.day(30)).1
      events += try flow.opened(owner: "m-inflated", amount: 50_000, probability: 80, at: ForecastFlow.day(30)).1
      events += try flow.opened(
        owner: "m-inflated", amount: 10_000, probability: nil, currency: "USD", at: ForecastFlow.day(30)
      ).1
      events += try flow.opened(owner: "m-honest", amount: 200_000, probability: 50, at: ForecastFlow.day(30)).1
      events += try flow.opened(owner: "m-new", amount: 40_000, probability: nil, at: ForecastFlow.day(30)).1
      events += try flow.opened(owner: "m-fresh", amount: 10_000, probability: 90, at: ForecastFlow.day(30)).1
      try await context.deliver(events)
      try await body(context, flow)
    }
  }

  @Test func coefficientsShowWhoInflatesWhoIsHonestAndShrinkTheShortRecord() async throws {
    try await Self.withTeam { context, _ in
      let reply = try await context.reporting.getForecast(.init())
      let expected = try Calibration.fit(Self.records)
      func calibration(_ owner: String) throws -> Crm_Reporting_V1_Calibration {
        try #require(reply.calibrations.first { $0.ownerID == owner && !$0.team })
      }
      let team = try #require(reply.calibrations.first)
      #expect(team.team && team.closed == 112 && team.won == 50)
      #expect(abs(team.promisedWins - 74.2) < 1e-9)
      #expect(
        abs(team.coefficient - 50 / 74.2) < 1e-12 && team.lower < team.coefficient && team.coefficient < team.upper)

      let inflated = try calibration("m-inflated")
      #expect(inflated.closed == 60 && inflated.won == 24 && abs(inflated.rawCoefficient - 0.5) < 1e-12)
      #expect(inflated.coefficient < 0.75 && inflated.upper < 1, "he wins far less than he promises")
      let honest = try calibration("m-honest")
      #expect(abs(honest.rawCoefficient - 1) < 1e-12)
      #expect(honest.coefficient > 0.85 && honest.coefficient < 1.05 && honest.lower < 1 && honest.upper > 1)
      let new = try calibration("m-new")
      #expect(new.closed == 2 && abs(new.rawCoefficient - 1 / 1.2) < 1e-12)
      #expect(
        abs(new.coefficient - team.coefficient) < abs(new.rawCoefficient - team.coefficient) / 2,
        "two closed deals: pulled most of the way to the team")
      #expect(new.ownWeight < 0.5 && inflated.ownWeight > new.ownWeight)
      // The SQL sums are the hand-planted ones: the same fit.
      for manager in expected.managers {
        let got = try calibration(manager.owner)
        #expect(got.coefficient == manager.coefficient && got.ownWeight == manager.ownWeight)
      }
      #expect(reply.priorStrength == expected.priorStrength && reply.level == 0.95)
      let fresh = try calibration("m-fresh")
      #expect(!fresh.ownRecord && fresh.closed == 0 && fresh.coefficient == team.coefficient)
    }
  }

  @Test func rawAndCorrectedSumsAreTheHandComputedOnes() async throws {
    try await Self.withTeam { context, _ in
      let reply = try await context.reporting.getForecast(.init())
      let fit = try Calibration.fit(Self.records)
      func row(_ owner: String, _ currency: String = "RUB") throws -> Crm_Reporting_V1_GetForecastReply.Row {
        try #require(reply.rows.first { $0.ownerID == owner && $0.currency == currency && $0.team == owner.isEmpty })
      }
      let inflated = try row("m-inflated")
      #expect(inflated.deals == 2 && inflated.amountMinor == 150_000 && inflated.rawMinor == 120_000)
      let cInflated = fit.coefficient(for: "m-inflated")
      #expect(inflated.coefficient == cInflated)
      #expect(abs(Double(inflated.correctedMinor) - 150_000 * 0.8 * cInflated) <= 0.5)
      let honest = try row("m-honest")
      #expect(honest.rawMinor == 100_000)
      #expect(abs(Double(honest.correctedMinor) - 200_000 * 0.5 * fit.coefficient(for: "m-honest")) <= 0.5)
      let new = try row("m-new")
      #expect(new.rawMinor == 8_000, "the stage's default 20% where he gave no estimate")
      // m-fresh has no record: the team's coefficient; 90% × C < 1, so no cap.
      let fresh = try row("m-fresh")
      #expect(fresh.rawMinor == 9_000 && abs(fresh.coefficient - 50 / 74.2) < 1e-12)
      let usd = try row("m-inflated", "USD")
      #expect(usd.rawMinor == 2_000 && usd.deals == 1)

      let team = try row("")
      #expect(team.deals == 5 && team.amountMinor == 400_000)
      #expect(team.rawMinor == 120_000 + 100_000 + 8_000 + 9_000)
      let exact =
        150_000 * 0.8 * cInflated + 200_000 * 0.5 * fit.coefficient(for: "m-honest")
        + 40_000 * 0.2 * fit.coefficient(for: "m-new") + 10_000 * 0.9 * (50 / 74.2)
      #expect(abs(Double(team.correctedMinor) - exact) <= 0.5)
      #expect(team.correctedMinor < team.rawMinor, "the team wins less than it states")
      // Per currency, the team row comes first.
      #expect(reply.rows.first?.team == true && reply.rows.first?.currency == "RUB")
      let teamUSD = try row("", "USD")
      #expect(teamUSD.rawMinor == 2_000)

      let onlyUSD = try await context.reporting.getForecast(.with { $0.currency = "usd" })
      #expect(Set(onlyUSD.rows.map(\.currency)) == ["USD"] && onlyUSD.rows.count == 2)
      // Calibration still has everyone with closed deals; m-fresh (none, and nothing in USD) drops out.
      #expect(onlyUSD.calibrations.map(\.ownerID) == ["", "m-honest", "m-inflated", "m-new"])
    }
  }

  @Test func aManagerSeesHisRowsAndTheTeamsQualityControlNothing() async throws {
    try await Self.withTeam { context, flow in
      let mine = try await context.as("manager:m-honest") { try await context.reporting.getForecast(.init()) }
      #expect(Set(mine.rows.map(\.ownerID)) == ["", "m-honest"])
      #expect(mine.rows.first { $0.team && $0.currency == "RUB" }?.rawMinor == 237_000, "team totals stay whole")
      #expect(mine.calibrations.map(\.ownerID) == ["", "m-honest"])
      let head = try await context.as("head_of_sales:h-1") {
        try await context.reporting.getForecast(.with { $0.pipelineID = flow.pipelineID })
      }
      #expect(Set(head.rows.map(\.ownerID)) == ["", "m-inflated", "m-honest", "m-new", "m-fresh"])
      let backtest = try await context.as("manager:m-new") {
        try await context.reporting.getForecastBacktest(
          .with {
            $0.months = 2
            $0.asOf = Google_Protobuf_Timestamp(date: ForecastFlow.day(60))
          })
      }
      #expect(backtest.months.flatMap(\.rows).allSatisfy { $0.team || $0.ownerID == "m-new" })
      for caller in ["qc_reviewer:r-1", "qc_head:q-1"] {
        let forecast = await statusCode {
          try await context.as(caller) { try await context.reporting.getForecast(.init()) }
        }
        let past = await statusCode {
          try await context.as(caller) { try await context.reporting.getForecastBacktest(.with { $0.months = 1 }) }
        }
        #expect(forecast == .permissionDenied && past == .permissionDenied, "\(caller)")
      }
    }
  }

  @Test func badRequestsNameTheirField() async throws {
    try await ReportingHarness.with { context in
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
      let currency = await failure { try await context.reporting.getForecast(.with { $0.currency = "RU" }) }
      #expect(currency.0 == .invalidArgument && currency.1.contains("currency"))
      let pipeline = await failure {
        try await context.reporting.getForecast(.with { $0.pipelineID = String(repeating: "p", count: 500) })
      }
      #expect(pipeline.0 == .invalidArgument && pipeline.1.contains("pipeline_id"))
      for months: Int32 in [0, -1, 37] {
        let bad = await failure { try await context.reporting.getForecastBacktest(.with { $0.months = months }) }
        #expect(bad.0 == .invalidArgument && bad.1.contains("months"), "\(months)")
      }
      let asOf = await failure {
        try await context.reporting.getForecastBacktest(
          .with {
            $0.months = 1
            $0.asOf.seconds = -5
          })
      }
      #expect(asOf.0 == .invalidArgument && asOf.1.contains("as_of"))
      // Nothing projected: empty but well-formed.
      let empty = try await context.reporting.getForecast(.init())
      #expect(empty.rows.isEmpty && empty.calibrations.count == 1 && empty.calibrations[0].coefficient == 1)
    }
  }
}
