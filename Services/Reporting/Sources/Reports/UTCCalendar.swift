import Foundation

extension Calendar {
  /// The Gregorian calendar in UTC: the cells' months (`MonthSplit`, `WholeMonths`) and RFC 3339.
  static let utc: Calendar = {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar
  }()
}
