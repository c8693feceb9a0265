import CRMContracts
import Foundation

/// One manager's working day to report on: his clock, and the end of the day on it.
struct HygieneDay: Sendable, Hashable {
  let managerID: String
  let day: CalendarDay
  let zoneName: String
  /// The end of the day on his clock: the report is as of this instant.
  let asOf: Date
  let workingDay: Bool

  /// `manager` on `day` under `settings`: his own zone (`zoneName`, nil when unset) or the company's.
  init(manager: String, zoneName: String?, day: CalendarDay, settings: HygieneSettings) {
    let (name, zone) = settings.zone(zoneName)
    managerID = manager
    self.day = day
    self.zoneName = name
    asOf = settings.endOfDay.instant(on: day, in: zone)
    workingDay = settings.calendar.isWorkingDay(day)
  }

  init(managerID: String, day: CalendarDay, zoneName: String, asOf: Date, workingDay: Bool) {
    self.managerID = managerID
    self.day = day
    self.zoneName = zoneName
    self.asOf = asOf
    self.workingDay = workingDay
  }

  /// The same day as of an earlier instant (a preview asked for before the end of the day).
  func asOf(_ instant: Date) -> HygieneDay {
    HygieneDay(managerID: managerID, day: day, zoneName: zoneName, asOf: min(instant, asOf), workingDay: workingDay)
  }

  var wireDay: Crm_Common_V1_Date {
    .with {
      $0.year = Int32(day.year)
      $0.month = Int32(day.month)
      $0.day = Int32(day.day)
    }
  }
}

/// What came of making one manager's report for one day.
enum HygieneOutcome: Sendable, Equatable {
  /// Made now, stored and published.
  case made(Crm_Activity_V1_HygieneReport)
  /// Another replica (or an earlier run) made it.
  case madeAlready
  /// He had neither an open deal nor an open task then: no report.
  case nothingToReport
}
