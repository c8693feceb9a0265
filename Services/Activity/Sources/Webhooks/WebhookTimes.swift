import Foundation
import Synchronization

/// The webhooks' ISO 8601 times. Formatters are made once: making one costs far more than
/// using it (ICU loads its patterns; two per request were a tenth of a webhook's CPU in the
/// bench). A formatter is not documented as safe to share between threads, so each is used
/// under a lock.
enum WebhookTimes {
  private static let internet = Mutex(ISO8601DateFormatter())
  private static let fractional = Mutex(
    {
      let formatter = ISO8601DateFormatter()
      formatter.formatOptions.insert(.withFractionalSeconds)
      return formatter
    }())

  /// An RFC 3339 instant, with or without fractions of a second; nil when it is none.
  static func date(_ text: String) -> Date? {
    if let date = wholeSeconds(text) { return date }
    if let date = internet.withLock({ $0.date(from: text) }) { return date }
    return fractional.withLock { $0.date(from: text) }
  }

  /// `date` as stored in a communication's details (`2026-12-01T10:15:00Z`).
  static func text(_ date: Date) -> String {
    internet.withLock { $0.string(from: date) }
  }

  /// What providers send, `2026-12-01T10:15:00Z` or `…+03:00` (a valid date from 1970 on, an
  /// offset of at most 14 hours), read by hand: ICU's parse was still the larger part of a
  /// webhook's checks. Anything else is nil here and left to the formatters, which decide as
  /// they always did (`WebhookInputTests` holds the two to the same answers).
  static func wholeSeconds(_ text: String) -> Date? {
    let bytes = Array(text.utf8)
    guard bytes.count == 20 || bytes.count == 25 else { return nil }
    func number(_ at: Int, _ digits: Int) -> Int? {
      var value = 0
      for index in at..<(at + digits) {
        let digit = Int(bytes[index]) - 48
        guard (0...9).contains(digit) else { return nil }
        value = value * 10 + digit
      }
      return value
    }
    guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
      bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
      let year = number(0, 4), (1970...9999).contains(year), let month = number(5, 2), (1...12).contains(month),
      let day = number(8, 2), day >= 1, day <= daysIn(month: month, year: year),
      let hour = number(11, 2), hour <= 23, let minute = number(14, 2), minute <= 59,
      let second = number(17, 2), second <= 59
    else { return nil }
    var offset = 0
    if bytes.count == 20 {
      guard bytes[19] == UInt8(ascii: "Z") else { return nil }
    } else {
      let sign = bytes[19]
      guard sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-"), bytes[22] == UInt8(ascii: ":"),
        let hours = number(20, 2), hours <= 14, let minutes = number(23, 2), minutes <= 59
      else { return nil }
      offset = (hours * 3600 + minutes * 60) * (sign == UInt8(ascii: "+") ? 1 : -1)
    }
    let seconds = daysSince1970(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
    return Date(timeIntervalSince1970: TimeInterval(seconds - offset))
  }

  static func daysIn(month: Int, year: Int) -> Int {
    switch month {
    case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
    case 4, 6, 9, 11: 30
    default: 31
    }
  }

  /// Days from 1970-01-01 to a date of the Gregorian calendar (H. Hinnant's days_from_civil).
  static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = y / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
  }
}
