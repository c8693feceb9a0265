import CRMRuntime
import Foundation

/// When the end-of-day (hygiene) reports run, read from the environment at startup:
///
/// - `CRM_END_OF_DAY`: `HH:MM` on each manager's own clock (default `19:00`; not `00:00`);
/// - `CRM_COMPANY_TIME_ZONE`: the clock of managers who have not set theirs (default
///   `Europe/Moscow`);
/// - `CRM_HOLIDAYS`, `CRM_WORKING_DAYS`: ISO dates (`2026-01-07`) or ranges
///   (`2026-01-01..2026-01-08`), separated by commas or spaces: days off on weekdays, and
///   weekend days that are worked (a production calendar);
/// - `CRM_HYGIENE_CATCH_UP_DAYS`: how many days back a replica that was down makes the reports
///   it missed (default 7, 0 to 92).
///
/// Every error names the variable and the entry that is wrong.
public struct HygieneSettings: Sendable, Equatable {
  var endOfDay = DailyRun(hour: 19, minute: 0)!
  var companyZoneName = "Europe/Moscow"
  var companyZone = TimeZone(identifier: "Europe/Moscow")!
  var calendar = WorkingCalendar()
  var catchUpDays = 7

  public static let `default` = HygieneSettings()

  /// The longest range of days one entry may name (a year of holidays is a long list already).
  static let longestRange = 366

  static let daysExpected =
    "ISO dates (YYYY-MM-DD) or ranges (YYYY-MM-DD..YYYY-MM-DD), separated by commas or spaces"

  init() {}

  public init(environment: [String: String]) throws(ConfigurationError) {
    let env = EnvironmentReader(environment)
    if let text = env.optional("CRM_END_OF_DAY") {
      guard let run = DailyRun(text) else {
        throw ConfigurationError(
          variable: "CRM_END_OF_DAY", problem: "is \"\(text)\"", expected: "a time of day HH:MM (00:01 to 23:59)")
      }
      // Midnight would be the start of the day it names: each report would be made before its
      // day had begun.
      guard run.hour != 0 || run.minute != 0 else {
        throw ConfigurationError(
          variable: "CRM_END_OF_DAY", problem: "is \"\(text)\", the start of the day, not its end",
          expected: "a time of day HH:MM from 00:01 to 23:59 (23:59 for the end of the day)")
      }
      endOfDay = run
    }
    if let name = env.optional("CRM_COMPANY_TIME_ZONE") {
      guard let (name, zone) = try? LocalClock.zoneName(name, "CRM_COMPANY_TIME_ZONE") else {
        throw ConfigurationError(
          variable: "CRM_COMPANY_TIME_ZONE", problem: "is \"\(name)\", not a known time zone",
          expected: "an IANA time zone name, e.g. Europe/Moscow")
      }
      companyZoneName = name
      companyZone = zone
    }
    let holidays = try Self.days(env.optional("CRM_HOLIDAYS"), variable: "CRM_HOLIDAYS")
    let worked = try Self.days(env.optional("CRM_WORKING_DAYS"), variable: "CRM_WORKING_DAYS")
    if let both = holidays.intersection(worked).min() {
      throw ConfigurationError(
        variable: "CRM_WORKING_DAYS", problem: "has \(both), which CRM_HOLIDAYS has too",
        expected: "a day in one list only")
    }
    calendar = WorkingCalendar(holidays: holidays, workingDays: worked)
    catchUpDays = try env.integer("CRM_HYGIENE_CATCH_UP_DAYS", default: 7, in: 0...92)
  }

  /// The days a list names: dates and ranges, separated by commas and/or white space.
  static func days(_ text: String?, variable: String) throws(ConfigurationError) -> Set<CalendarDay> {
    guard let text else { return [] }
    var days: Set<CalendarDay> = []
    let entries = text.split(whereSeparator: { $0 == "," || $0.isWhitespace })
    for entry in entries {
      let ends = entry.split(separator: "..", omittingEmptySubsequences: false)
      guard ends.count <= 2, let first = CalendarDay(iso: ends[0]), let last = CalendarDay(iso: ends[ends.count - 1])
      else {
        throw ConfigurationError(
          variable: variable, problem: "has \"\(entry)\", which is not a date", expected: daysExpected)
      }
      guard first <= last, last.ordinal - first.ordinal < longestRange else {
        throw ConfigurationError(
          variable: variable, problem: "has \"\(entry)\", which is not a range of 1 to \(longestRange) days",
          expected: daysExpected)
      }
      for ordinal in first.ordinal...last.ordinal { days.insert(CalendarDay(ordinal: ordinal)) }
    }
    return days
  }

  /// A manager's clock: his own zone, else the company's.
  func zone(_ name: String?) -> (name: String, zone: TimeZone) {
    if let name, let zone = TimeZone(identifier: name) { return (name, zone) }
    return (companyZoneName, companyZone)
  }
}
