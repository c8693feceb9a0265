import Foundation

/// A day of the calendar, without a time zone: a working day, a holiday, a report's date.
/// Arithmetic is on the proleptic Gregorian calendar (no zone, no daylight saving).
struct CalendarDay: Hashable, Comparable, Sendable, CustomStringConvertible {
  let year: Int
  let month: Int
  let day: Int

  /// Only real dates of years 1…9999 (checked; nil otherwise).
  init?(year: Int, month: Int, day: Int) {
    guard (1...9999).contains(year), (1...12).contains(month), (1...31).contains(day) else { return nil }
    guard DateComponents(year: year, month: month, day: day).isValidDate(in: Self.gregorian) else { return nil }
    self.year = year
    self.month = month
    self.day = day
  }

  /// `2026-12-31`, exactly (four, two and two digits).
  init?(iso text: some StringProtocol) {
    let parts = text.split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
      parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
      let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
    else { return nil }
    self.init(year: year, month: month, day: day)
  }

  /// The day `instant` falls on, on a clock in `zone`.
  init(_ instant: Date, in zone: TimeZone) {
    var calendar = Self.gregorian
    calendar.timeZone = zone
    let parts = calendar.dateComponents([.year, .month, .day], from: instant)
    year = parts.year ?? 1
    month = parts.month ?? 1
    day = parts.day ?? 1
  }

  /// Days since 1970-01-01 (negative before).
  var ordinal: Int { Int((Self.gregorian.date(from: components)!.timeIntervalSince1970 / 86_400).rounded(.down)) }

  init(ordinal: Int) {
    self.init(Date(timeIntervalSince1970: Double(ordinal) * 86_400), in: Self.utc)
  }

  func adding(days: Int) -> CalendarDay { CalendarDay(ordinal: ordinal + days) }

  /// 1 = Sunday … 7 = Saturday, as Foundation counts.
  var weekday: Int { Self.gregorian.component(.weekday, from: Self.gregorian.date(from: components)!) }

  var components: DateComponents { DateComponents(year: year, month: month, day: day) }

  var description: String { String(format: "%04d-%02d-%02d", year, month, day) }

  static func < (a: CalendarDay, b: CalendarDay) -> Bool {
    (a.year, a.month, a.day) < (b.year, b.month, b.day)
  }

  static let utc = TimeZone(identifier: "UTC")!

  /// Gregorian in UTC: a day's midnight there is a plain count of seconds.
  static let gregorian: Calendar = {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = utc
    return calendar
  }()
}
