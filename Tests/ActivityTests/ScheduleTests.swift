import CRMRuntime
import Foundation
import Testing

@testable import ActivityService

/// The working-day calendar, the daily run's instants (daylight saving included) and the
/// end-of-day settings' startup errors: pure, in process.
@Suite("Activity: working days and daily runs")
struct ScheduleTests {
  static func day(_ text: String) -> CalendarDay { CalendarDay(iso: text)! }
  static func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }
  static let berlin = TimeZone(identifier: "Europe/Berlin")!
  static let moscow = TimeZone(identifier: "Europe/Moscow")!

  @Test func daysAreReadExactlyAndCountedWithoutAZone() {
    #expect(Self.day("2026-12-31").description == "2026-12-31")
    for bad in [
      "2026-02-30", "2026-13-01", "2026-1-01", "26-01-01", "2026-01-01T00", "2026/01/01", "", "0000-01-01",
      "２０２６-01-01", "2026-01-+1",
    ] {
      #expect(CalendarDay(iso: bad) == nil, "\(bad)")
    }
    #expect(Self.day("2024-02-28").adding(days: 1) == Self.day("2024-02-29"))
    #expect(Self.day("2026-12-31").adding(days: 1) == Self.day("2027-01-01"))
    #expect(Self.day("1970-01-01").ordinal == 0 && Self.day("1969-12-31").ordinal == -1)
    #expect(Self.day("2026-12-05").weekday == 7)  // a Saturday
    // 23:30 UTC on 1 December is already the 2nd in Moscow.
    #expect(CalendarDay(Self.utc("2026-12-01T23:30:00Z"), in: Self.moscow) == Self.day("2026-12-02"))
  }

  @Test func weekendsHolidaysAndMovedWorkingDays() {
    // Russia 2025: 1–8 January off; Saturday 1 November worked, Monday 3 and Tuesday 4 off.
    let calendar = WorkingCalendar(
      holidays: Set(
        (1...8).map { Self.day(String(format: "2025-01-%02d", $0)) } + [
          Self.day("2025-11-03"), Self.day("2025-11-04"),
        ]),
      workingDays: [Self.day("2025-11-01")])
    #expect(!calendar.isWorkingDay(Self.day("2025-01-06")))  // a Monday, a holiday
    #expect(calendar.isWorkingDay(Self.day("2025-01-09")))  // Thursday
    #expect(!calendar.isWorkingDay(Self.day("2025-01-11")))  // Saturday
    #expect(!calendar.isWorkingDay(Self.day("2025-01-12")))  // Sunday
    #expect(calendar.isWorkingDay(Self.day("2025-11-01")))  // a Saturday worked
    #expect(!calendar.isWorkingDay(Self.day("2025-11-02")))
    #expect(
      calendar.workingDays(from: Self.day("2025-10-30"), through: Self.day("2025-11-06")).map(\.description) == [
        "2025-10-30", "2025-10-31", "2025-11-01", "2025-11-05", "2025-11-06",
      ])
    #expect(calendar.workingDays(from: Self.day("2025-11-06"), through: Self.day("2025-11-05")).isEmpty)
  }

  @Test func aDailyRunIsReadExactly() {
    #expect(DailyRun("19:00") == DailyRun(hour: 19, minute: 0) && DailyRun("07:05")?.description == "07:05")
    for bad in ["24:00", "19:60", "7:00", "19.00", "19:00:00", "", " 19:00", "-1:00", "19:0٠"] {
      #expect(DailyRun(bad) == nil, "\(bad)")
    }
  }

  @Test func theNextAndLastRunsOnAClock() {
    let run = DailyRun("19:00")!
    // 19:00 in Moscow is 16:00 UTC.
    #expect(run.instant(on: Self.day("2026-12-01"), in: Self.moscow) == Self.utc("2026-12-01T16:00:00Z"))
    let before = run.next(after: Self.utc("2026-12-01T15:59:59Z"), in: Self.moscow)
    #expect(before.day == Self.day("2026-12-01") && before.at == Self.utc("2026-12-01T16:00:00Z"))
    // Exactly at the run: the next is tomorrow's, the last is this one.
    let at = Self.utc("2026-12-01T16:00:00Z")
    #expect(run.next(after: at, in: Self.moscow).day == Self.day("2026-12-02"))
    #expect(run.last(atOrBefore: at, in: Self.moscow) == (Self.day("2026-12-01"), at))
    // Just after midnight in Moscow (still the 1st in UTC), the last run was yesterday's.
    #expect(run.last(atOrBefore: Self.utc("2026-12-01T21:30:00Z"), in: Self.moscow).day == Self.day("2026-12-01"))
    #expect(run.last(atOrBefore: Self.utc("2026-12-01T15:00:00Z"), in: Self.moscow).day == Self.day("2026-11-30"))
    // Zones a day apart: 00:30 in Kiribati, 23:30 the day before in Pago Pago.
    let early = DailyRun("00:30")!
    let kiritimati = TimeZone(identifier: "Pacific/Kiritimati")!
    #expect(early.instant(on: Self.day("2026-12-02"), in: kiritimati) == Self.utc("2026-12-01T10:30:00Z"))
  }

  @Test func daylightSavingNeitherLosesNorRepeatsARun() {
    // Berlin, 29 March 2026: 02:00 → 03:00. 02:30 is skipped: run at the jump (01:00 UTC).
    let skipped = DailyRun("02:30")!
    #expect(skipped.instant(on: Self.day("2026-03-29"), in: Self.berlin) == Self.utc("2026-03-29T01:00:00Z"))
    #expect(skipped.instant(on: Self.day("2026-03-28"), in: Self.berlin) == Self.utc("2026-03-28T01:30:00Z"))
    #expect(skipped.instant(on: Self.day("2026-03-30"), in: Self.berlin) == Self.utc("2026-03-30T00:30:00Z"))
    // 25 October 2026: 03:00 → 02:00. 02:30 comes twice: the first (00:30 UTC), once.
    #expect(skipped.instant(on: Self.day("2026-10-25"), in: Self.berlin) == Self.utc("2026-10-25T00:30:00Z"))
    // One run a day across both changes, never two, never none.
    for (first, last) in [
      ("2026-03-25T00:00:00Z", "2026-04-02T00:00:00Z"), ("2026-10-21T00:00:00Z", "2026-10-29T00:00:00Z"),
    ] {
      let days = skipped.days(after: Self.utc(first), through: Self.utc(last), in: Self.berlin)
      #expect(days.count == 8 && Set(days).count == 8, "\(days)")
      #expect(zip(days, days.dropFirst()).allSatisfy { $0.adding(days: 1) == $1 })
    }
    // The end of the day is an ordinary time on the change days: 19:00 CET, then CEST.
    let endOfDay = DailyRun("19:00")!
    #expect(endOfDay.instant(on: Self.day("2026-03-29"), in: Self.berlin) == Self.utc("2026-03-29T17:00:00Z"))
    #expect(endOfDay.instant(on: Self.day("2026-10-25"), in: Self.berlin) == Self.utc("2026-10-25T18:00:00Z"))
  }

  @Test func catchingUpListsTheMissedDaysOnly() {
    let run = DailyRun("19:00")!
    let days = run.days(
      after: Self.utc("2026-11-28T17:00:00Z"), through: Self.utc("2026-12-01T16:00:00Z"), in: Self.moscow)
    #expect(days.map(\.description) == ["2026-11-29", "2026-11-30", "2026-12-01"])
    #expect(
      run.days(after: Self.utc("2026-12-01T16:00:00Z"), through: Self.utc("2026-12-01T16:00:00Z"), in: Self.moscow)
        .isEmpty)
  }

  @Test func theDaysDueAreTheWorkingDaysEndedOnTheManagersClockWithinTheCatchUp() {
    let settings = HygieneSettings.default  // 19:00, Moscow, Monday to Friday, 7 days back
    // Tuesday 1 December 2026, 20:00 in Moscow: today has ended, and the week before.
    let evening = ScheduleTests.utc("2026-12-01T17:00:00Z")
    #expect(
      EndOfDayReports.daysDue(zoneName: nil, now: evening, settings: settings).map(\.description) == [
        "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-30", "2026-12-01",
      ])
    // 18:00 in Moscow: today has not ended; Vladivostok's has (19:30 there).
    let afternoon = ScheduleTests.utc("2026-12-01T09:30:00Z")
    #expect(EndOfDayReports.daysDue(zoneName: nil, now: afternoon, settings: settings).last == Self.day("2026-11-30"))
    #expect(
      EndOfDayReports.daysDue(zoneName: "Asia/Vladivostok", now: afternoon, settings: settings).last
        == Self.day("2026-12-01"))
    var none = settings
    none.catchUpDays = 0
    #expect(EndOfDayReports.daysDue(zoneName: nil, now: evening, settings: none) == [Self.day("2026-12-01")])
    // Saturday evening, without catching up: no report.
    let saturday = ScheduleTests.utc("2026-12-05T17:00:00Z")
    #expect(EndOfDayReports.daysDue(zoneName: nil, now: saturday, settings: none).isEmpty)
  }

  @Test func settingsFromTheEnvironment() throws {
    #expect(try HygieneSettings(environment: [:]) == .default)
    let settings = try HygieneSettings(environment: [
      "CRM_END_OF_DAY": "18:30", "CRM_COMPANY_TIME_ZONE": "Asia/Yekaterinburg",
      "CRM_HOLIDAYS": "2026-01-01..2026-01-08, 2026-02-23 2026-03-09", "CRM_WORKING_DAYS": " 2026-01-10 ",
      "CRM_HYGIENE_CATCH_UP_DAYS": "3",
    ])
    #expect(settings.endOfDay == DailyRun("18:30") && settings.companyZoneName == "Asia/Yekaterinburg")
    #expect(settings.calendar.holidays.count == 10 && settings.calendar.workingDays == [Self.day("2026-01-10")])
    #expect(settings.catchUpDays == 3)
    #expect(settings.zone(nil).name == "Asia/Yekaterinburg" && settings.zone("Europe/Berlin").name == "Europe/Berlin")
  }

  @Test func badSettingsNameTheVariableAndTheEntry() {
    func error(_ environment: [String: String]) -> String {
      do {
        _ = try HygieneSettings(environment: environment)
        return "no error"
      } catch { return error.description }
    }
    #expect(error(["CRM_END_OF_DAY": "7pm"]).hasPrefix("CRM_END_OF_DAY is \"7pm\"; expected a time of day HH:MM"))
    // Midnight names the start of a day: refused, saying so.
    #expect(
      error(["CRM_END_OF_DAY": "00:00"])
        == "CRM_END_OF_DAY is \"00:00\", the start of the day, not its end; "
        + "expected a time of day HH:MM from 00:01 to 23:59 (23:59 for the end of the day)")
    #expect(error(["CRM_END_OF_DAY": "00:01"]) == "no error")
    #expect(error(["CRM_COMPANY_TIME_ZONE": "Moscow"]).hasPrefix("CRM_COMPANY_TIME_ZONE is \"Moscow\", not a known"))
    #expect(
      error(["CRM_HOLIDAYS": "2026-01-01,2026-02-30"])
        == "CRM_HOLIDAYS has \"2026-02-30\", which is not a date; expected \(HygieneSettings.daysExpected)")
    #expect(
      error(["CRM_WORKING_DAYS": "2026-01-10..2026-01-01"]).hasPrefix(
        "CRM_WORKING_DAYS has \"2026-01-10..2026-01-01\", which is not a range"))
    #expect(error(["CRM_HOLIDAYS": "2026-01-01..2027-12-31"]).hasPrefix("CRM_HOLIDAYS has \"2026-01-01..2027-12-31\""))
    #expect(
      error(["CRM_HOLIDAYS": "2026-01-01...2026-01-02"]).hasPrefix(
        "CRM_HOLIDAYS has \"2026-01-01...2026-01-02\", which is not a date"))
    #expect(
      error(["CRM_HOLIDAYS": "2026-01-10", "CRM_WORKING_DAYS": "2026-01-10"])
        == "CRM_WORKING_DAYS has 2026-01-10, which CRM_HOLIDAYS has too; expected a day in one list only")
    #expect(error(["CRM_HYGIENE_CATCH_UP_DAYS": "365"]).hasPrefix("CRM_HYGIENE_CATCH_UP_DAYS is 365, out of range"))
  }
}
