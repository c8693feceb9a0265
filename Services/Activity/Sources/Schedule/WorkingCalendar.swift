/// Which days count as working days: Monday to Friday, less the holidays, plus the weekend days
/// moved to be worked (a production calendar such as Russia's moves a Saturday so that a
/// holiday bridges to a weekend). Pure: configured once at startup.
struct WorkingCalendar: Sendable, Equatable {
  /// Weekdays off, as Foundation counts them (1 = Sunday, 7 = Saturday).
  var weekend: Set<Int> = [1, 7]
  var holidays: Set<CalendarDay> = []
  /// Weekend days that are worked.
  var workingDays: Set<CalendarDay> = []

  /// A day moved to be worked counts even on a weekend; a holiday never does.
  func isWorkingDay(_ day: CalendarDay) -> Bool {
    if workingDays.contains(day) { return true }
    if holidays.contains(day) { return false }
    return !weekend.contains(day.weekday)
  }

  /// The working days of `first…last`, in order.
  func workingDays(from first: CalendarDay, through last: CalendarDay) -> [CalendarDay] {
    guard first <= last else { return [] }
    return (first.ordinal...last.ordinal).map(CalendarDay.init(ordinal:)).filter(isWorkingDay)
  }
}
