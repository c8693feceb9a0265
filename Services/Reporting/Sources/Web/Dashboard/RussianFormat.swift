import Foundation

/// Numbers, money, percentages and dates as Russian writes them: groups of three split by a
/// non-breaking space, a decimal comma, "42,5 %", "1 234 567,89 ₽", "02.12.2026". Made by hand
/// (not NumberFormatter) so that every platform's locale data gives the same text.
enum RussianFormat {
  /// U+00A0: the group separator and the space before a unit, so no line breaks inside a number.
  static let space = "\u{00A0}"

  /// 1 234 567
  static func integer(_ value: Int64) -> String {
    let digits = String(value.magnitude)
    var grouped = ""
    for (index, digit) in digits.enumerated() {
      if index > 0, (digits.count - index) % 3 == 0 { grouped += space }
      grouped.append(digit)
    }
    return (value < 0 ? "−" : "") + grouped
  }

  static func integer(_ value: Int) -> String { integer(Int64(value)) }

  /// `value` rounded to `digits` decimals (half away from zero), grouped, with a comma.
  static func decimal(_ value: Double, digits: Int) -> String {
    guard value.isFinite else { return "—" }
    let scale = pow(10, Double(digits))
    let scaled = (value.magnitude * scale).rounded(.toNearestOrAwayFromZero)
    guard scaled < 9e17 else { return "—" }
    let units = Int64(scaled)
    let whole = units / Int64(scale)
    let negative = value < 0 && units != 0
    var text = (negative ? "−" : "") + integer(whole)
    if digits > 0 {
      let fraction = String(units % Int64(scale))
      text += "," + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return text
  }

  /// A share (0.425) as "42,5 %".
  static func percent(_ share: Double) -> String { decimal(share * 100, digits: 1) + space + "%" }

  /// Minor units of `currency` as "1 234 567,89 ₽"; currencies without a sign keep their code.
  static func money(minor: Int64, currency: String) -> String {
    let exponent = zeroDecimalCurrencies.contains(currency) ? 0 : 2
    let scale = exponent == 0 ? Int64(1) : 100
    var text = (minor < 0 ? "−" : "") + integer(Int64(minor.magnitude / UInt64(scale)))
    if exponent > 0 {
      let cents = minor.magnitude % UInt64(scale)
      text += "," + (cents < 10 ? "0" : "") + String(cents)
    }
    return text + space + (signs[currency] ?? currency)
  }

  /// Minor units held in a Double (a mean of sums): rounded to whole minor units first.
  static func money(roundedMinor minor: Double, currency: String) -> String {
    guard minor.isFinite, minor.magnitude < 9e17 else { return "—" }
    return money(minor: Int64(minor.rounded()), currency: currency)
  }

  static let signs = ["RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "CNY": "¥", "GBP": "£"]
  static let zeroDecimalCurrencies: Set<String> = ["JPY", "KRW", "VND", "CLP", "ISK"]

  /// "02.12.2026": the day `date` falls on in `zone`.
  static func date(_ date: Date, in zone: TimeZone) -> String {
    let parts = calendar(zone).dateComponents([.year, .month, .day], from: date)
    return "\(two(parts.day ?? 0)).\(two(parts.month ?? 0)).\(four(parts.year ?? 0))"
  }

  /// "12.2026" for a month's start.
  static func month(_ date: Date, in zone: TimeZone) -> String {
    let parts = calendar(zone).dateComponents([.year, .month], from: date)
    return "\(two(parts.month ?? 0)).\(four(parts.year ?? 0))"
  }

  /// Seconds as days with one decimal: "3,5 дн.".
  static func days(seconds: Double) -> String { decimal(seconds / 86_400, digits: 1) + space + "дн." }

  static func calendar(_ zone: TimeZone) -> Calendar {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    return calendar
  }

  private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
  private static func four(_ value: Int) -> String {
    String(repeating: "0", count: max(0, 4 - String(value).count)) + "\(value)"
  }
}
