import CRMContracts
import CRMTestSupport
import Foundation
import SwiftProtobuf
import Testing

@testable import ReportingService

/// GetForecastBacktest from deal versions: March's forecast is made with what was known on
/// 1 March; deals closed later change what March won and April's calibration, never March's
/// forecast.
@Suite("Reporting forecast backtest RPC")
struct ForecastReportBacktestTests {
  static let asOf = ForecastFlow.date(4, 15)

  @Test func aMonthsForecastUsesNothingRecordedAfterItsStart() async throws {
    try await ReportingHarness.with { context in
      let flow = ForecastFlow()
      var events = [try flow.pipelineDefined()]
      // January's record: m-a states 80% and wins 4 of 10; m-b states 50% and wins 5 of 10.
      events += try flow.closed(
        owner: "m-a", count: 10, won: 4, probability: 80, at: ForecastFlow.date(1, 6),
        closedAt: ForecastFlow.date(1, 20))
      events += try flow.closed(
        owner: "m-b", count: 10, won: 5, probability: 50, at: ForecastFlow.date(1, 6),
        closedAt: ForecastFlow.date(1, 20))
      // Open on 1 March: X and Y expected in March, W in April.
      let opened = ForecastFlow.date(2, 10)
      let (x, xEvents) = try flow.opened(
        owner: "m-a", amount: 100_000, probability: 80, expectedClose: (3, 20), at: opened)
      let (y, yEvents) = try flow.opened(
        owner: "m-b", amount: 60_000, probability: 50, expectedClose: (3, 25), at: opened)
      let (_, wEvents) = try flow.opened(
        owner: "m-a", amount: 30_000, probability: 80, expectedClose: (4, 10), at: opened)
      // Opened after 1 March: not in March's forecast.
      let (v, vEvents) = try flow.opened(
        owner: "m-b", amount: 70_000, probability: 50, expectedClose: (3, 28), at: ForecastFlow.date(3, 3))
      try await context.deliver(events + xEvents + yEvents + wEvents + vEvents)

      let request = Crm_Reporting_V1_GetForecastBacktestRequest.with {
        $0.months = 2
        $0.asOf = Google_Protobuf_Timestamp(date: Self.asOf)
      }
      let before = try await context.reporting.getForecastBacktest(request)
      #expect(before.timeZone == "UTC")
      #expect(before.months.map(\.month) == ["2026-02", "2026-03", "2026-04"])
      #expect(before.months.map(\.complete) == [true, true, false])
      #expect(
        before.months[1].start.date == ForecastFlow.date(3, 1) && before.months[1].end.date == ForecastFlow.date(4, 1))
      #expect(before.months[0].rows.isEmpty, "nothing was open on 1 February")
      let march = before.months[1]
      #expect(march.closedBefore == 20 && march.teamCoefficientKnown)
      #expect(abs(march.teamCoefficient - 9 / 13.0) < 1e-12)
      let marchTeam = try #require(march.rows.first { $0.team && $0.currency == "RUB" })
      #expect(marchTeam.forecastDeals == 2 && marchTeam.rawMinor == 80_000 + 30_000)
      let fit = try Calibration.fit([
        CalibrationRecord(owner: "m-a", closed: 10, won: 4, statedPercent: 800),
        CalibrationRecord(owner: "m-b", closed: 10, won: 5, statedPercent: 500),
      ])
      let corrected = 100_000 * 0.8 * fit.coefficient(for: "m-a") + 60_000 * 0.5 * fit.coefficient(for: "m-b")
      #expect(abs(Double(marchTeam.correctedMinor) - corrected) <= 0.5)
      #expect(marchTeam.wonMinor == 0 && marchTeam.rawErrorMinor == 110_000)
      // April: W, and X, Y, V still open though overdue (a team expects them now).
      let aprilTeam = try #require(before.months[2].rows.first { $0.team })
      #expect(aprilTeam.rawMinor == 24_000 + 80_000 + 30_000 + 35_000 && aprilTeam.forecastDeals == 4)

      // Later: X won on 10 March, Y lost, V won; ten deals m-a had stated at 90% since February
      // (no expected close) all lost on 5 March — a calibration that looked ahead would change.
      var later = [try flow.close(x, won: true, at: ForecastFlow.date(3, 10))]
      later.append(try flow.close(y, won: false, at: ForecastFlow.date(3, 15)))
      later.append(try flow.close(v, won: true, at: ForecastFlow.date(3, 29)))
      later += try flow.closed(
        owner: "m-a", count: 10, won: 0, probability: 90, at: ForecastFlow.date(2, 20),
        closedAt: ForecastFlow.date(3, 5))
      try await context.deliver(later)

      let after = try await context.reporting.getForecastBacktest(request)
      let marchAfter = after.months[1]
      #expect(marchAfter.closedBefore == march.closedBefore && marchAfter.teamCoefficient == march.teamCoefficient)
      let teamAfter = try #require(marchAfter.rows.first { $0.team && $0.currency == "RUB" })
      #expect(
        [teamAfter.forecastDeals, teamAfter.rawMinor, teamAfter.correctedMinor]
          == [marchTeam.forecastDeals, marchTeam.rawMinor, marchTeam.correctedMinor])
      #expect(teamAfter.wonDeals == 1 && teamAfter.wonMinor == 100_000, "X only: V was opened after 1 March")
      #expect(teamAfter.rawErrorMinor == 10_000 && teamAfter.correctedErrorMinor == teamAfter.correctedMinor - 100_000)
      let aRow = try #require(marchAfter.rows.first { $0.ownerID == "m-a" })
      #expect(aRow.wonMinor == 100_000 && aRow.coefficient == fit.coefficient(for: "m-a"))
      // April's forecast learned from March's closings: 10 + 3 more closed, and m-a's 90% losses.
      let april = after.months[2]
      #expect(april.closedBefore == 33 && april.teamCoefficient < march.teamCoefficient)
      // The summary speaks of complete months with a forecast: March.
      let summary = try #require(after.summary.first { $0.currency == "RUB" })
      #expect(summary.months == 1)
      let rawError = Double(abs(teamAfter.rawErrorMinor))
      let correctedError = Double(abs(teamAfter.correctedErrorMinor))
      #expect(summary.rawMeanAbsoluteErrorMinor == rawError)
      #expect(summary.correctedMeanAbsoluteErrorMinor == correctedError)
      #expect(summary.correctionHelps == (correctedError < rawError))

      let onlyUSD = try await context.reporting.getForecastBacktest(
        .with {
          $0.months = 2
          $0.asOf = Google_Protobuf_Timestamp(date: Self.asOf)
          $0.currency = "USD"
        })
      #expect(onlyUSD.months.allSatisfy(\.rows.isEmpty) && onlyUSD.summary.isEmpty)
    }
  }

  /// The company's clock west of UTC (New York, UTC−4 from 8 March): its April starts at 04:00 UTC.
  /// A deal expected on 1 April is not March's, one expected on 31 March is, though both dates'
  /// UTC midnights fall before March's end there.
  @Test func expectedCloseDatesAreDaysOnTheCompanysClock() async throws {
    try await ReportingHarness.with { context in
      let flow = ForecastFlow()
      var events = [try flow.pipelineDefined()]
      events += try flow.opened(
        owner: "m-a", amount: 10_000, probability: 50, expectedClose: (3, 31), at: ForecastFlow.date(2, 10)
      ).1
      events += try flow.opened(
        owner: "m-a", amount: 20_000, probability: 50, expectedClose: (4, 1), at: ForecastFlow.date(2, 10)
      ).1
      try await context.deliver(events)
      var settings = ForecastSettings.default
      settings.zoneName = "America/New_York"
      settings.zone = try #require(TimeZone(identifier: "America/New_York"))
      let now = ForecastFlow.date(4, 15)
      let repository = PostgresReportingRepository(client: context.database, logger: ReportingHarness.logger)
      let reply = try await repository.forecastBacktest(
        ForecastBacktestQuery(
          months: ForecastMonths.periods(count: 1, before: now, in: settings.zone), now: now, pipelineID: nil,
          currency: nil, visibility: .everyone, settings: settings))
      #expect(reply.timeZone == "America/New_York" && reply.months.map(\.month) == ["2026-03", "2026-04"])
      #expect(reply.months[0].end.date == ForecastFlow.date(4, 1).addingTimeInterval(4 * 3_600), "EDT from 8 March")
      let march = try #require(reply.months[0].rows.first { $0.team })
      #expect(march.forecastDeals == 1 && march.rawMinor == 5_000)
      let april = try #require(reply.months[1].rows.first { $0.team })
      #expect(april.forecastDeals == 2 && april.rawMinor == 15_000, "both open on 1 April: one due, one overdue")
    }
  }
}
