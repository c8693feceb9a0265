import CRMRuntime
import Foundation
import Testing

@testable import ReportingService

/// The forecast's clock: the company's time zone cuts the backtest's months.
@Suite("Reporting forecast settings")
struct ForecastReportSettingsTests {
  @Test func theCompanyTimeZoneIsReadAndABadOneNamed() throws {
    // Unset: activity's default company clock, so that both services cut days alike.
    #expect(try ForecastSettings(environment: EnvironmentReader([:])).zoneName == "Europe/Moscow")
    #expect(ForecastSettings.default.zoneName == "UTC")
    let moscow = try ForecastSettings(environment: EnvironmentReader(["CRM_COMPANY_TIME_ZONE": "Europe/Moscow"]))
    #expect(moscow.zoneName == "Europe/Moscow" && moscow.zone.identifier == "Europe/Moscow")
    #expect(throws: ConfigurationError.self) {
      try ForecastSettings(environment: EnvironmentReader(["CRM_COMPANY_TIME_ZONE": "Mars/Olympus"]))
    }
    do {
      _ = try ForecastSettings(environment: EnvironmentReader(["CRM_COMPANY_TIME_ZONE": "Mars/Olympus"]))
    } catch {
      #expect(error.variable == "CRM_COMPANY_TIME_ZONE")
    }
  }

  @Test func monthsAreCutAtTheCompanysMidnights() throws {
    let zone = try #require(TimeZone(identifier: "Europe/Moscow"))
    // 2026-04-01 00:30 in Moscow is still 31 March in UTC: April is the current month.
    let justAfter = ForecastFlow.date(3, 31).addingTimeInterval(21 * 3_600 + 1_800)
    let periods = ForecastMonths.periods(count: 2, before: justAfter, in: zone)
    #expect(periods.count == 3)
    #expect(periods.map { ForecastMonths.label($0.start, in: zone) } == ["2026-02", "2026-03", "2026-04"])
    // Moscow is UTC+3: each month starts at 21:00 UTC the day before.
    #expect(periods[0].start == ForecastFlow.date(1, 31).addingTimeInterval(21 * 3_600))
    #expect(periods[2].start == ForecastFlow.date(3, 31).addingTimeInterval(21 * 3_600))
    #expect(periods[2].end == ForecastFlow.date(4, 30).addingTimeInterval(21 * 3_600))
    #expect(zip(periods, periods.dropFirst()).allSatisfy { $0.end == $1.start })
    let utc = ForecastMonths.periods(count: 1, before: justAfter, in: TimeZone(identifier: "UTC")!)
    #expect(utc.map { ForecastMonths.label($0.start, in: TimeZone(identifier: "UTC")!) } == ["2026-02", "2026-03"])
  }
}
