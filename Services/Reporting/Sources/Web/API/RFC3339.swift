import Foundation
import OpenAPIRuntime

/// RFC 3339 date-times, as the document's `format: date-time` says: `2026-01-31T09:30:00Z`,
/// with or without fractions of a second, `Z` or an offset. Years 1 to 9999; a day the month
/// does not have, or a leap second, is refused rather than rolled over.
enum RFC3339 {
  static func date(_ text: String) -> Date? {
    guard text.utf8.count <= 40,
      let match = text.wholeMatch(
        of: /(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|([+-])(\d{2}):(\d{2}))/)
    else { return nil }
    let o = match.output
    guard let year = Int(o.1), let month = Int(o.2), let day = Int(o.3), let hour = Int(o.4), let minute = Int(o.5),
      let second = Int(o.6), (1...9999).contains(year), (1...12).contains(month), (1...31).contains(day),
      hour < 24, minute < 60, second < 60
    else { return nil }
    var offset = 0
    if let sign = o.9, let hours = Int(o.10 ?? ""), let minutes = Int(o.11 ?? "") {
      guard hours < 24, minutes < 60 else { return nil }
      offset = (hours * 3600 + minutes * 60) * (sign == "-" ? -1 : 1)
    }
    let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    guard let base = Calendar.utc.date(from: components), Calendar.utc.component(.day, from: base) == day else {
      return nil
    }
    let fraction = o.7.map { Double("0" + $0) ?? 0 } ?? 0
    return base.addingTimeInterval(fraction - Double(offset))
  }

  /// UTC, with milliseconds when the instant has them.
  static func string(_ date: Date) -> String {
    let milliseconds = (date.timeIntervalSince1970 * 1000).rounded(.down)
    let whole = Date(timeIntervalSince1970: (milliseconds / 1000).rounded(.down))
    let c = Calendar.utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: whole)
    let millis = Int(milliseconds - (milliseconds / 1000).rounded(.down) * 1000)
    let base = String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0,
      c.second ?? 0)
    return millis == 0 ? base + "Z" : base + String(format: ".%03dZ", millis)
  }
}

/// The generated code's dates, read and written as `RFC3339` does.
struct RFC3339Transcoder: DateTranscoder {
  struct Refused: Error, CustomStringConvertible {
    var description: String { "not an RFC 3339 date-time" }
  }

  func encode(_ date: Date) throws -> String { RFC3339.string(date) }

  func decode(_ text: String) throws -> Date {
    guard let date = RFC3339.date(text) else { throw Refused() }
    return date
  }
}
