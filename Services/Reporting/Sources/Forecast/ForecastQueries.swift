import CRMDomain
import Foundation

/// GetForecast as the repository asks it.
struct ForecastQuery: Equatable, Sendable {
  /// Filters the open deals and the closed ones calibration learns from.
  var pipelineID: String?
  /// Filters the open deals only: a manager's calibration is one, over all currencies.
  var currency: String?
  var visibility: Visibility
}

/// GetForecastBacktest as the repository asks it.
struct ForecastBacktestQuery: Equatable, Sendable {
  static let maximumMonths = 36

  var months: [BacktestPeriod]
  var now: Date
  var pipelineID: String?
  var currency: String?
  var visibility: Visibility
  var settings: ForecastSettings
}

extension ReportInput {
  /// A currency filter: empty is none (nil); else three letters, upper-cased.
  static func currency(_ value: String, _ field: String) throws(InvalidField) -> String? {
    let code = value.trimmingCharacters(in: .whitespaces).uppercased()
    if code.isEmpty { return nil }
    guard code.count == 3, code.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) else {
      throw InvalidField(field: field, reason: "\(Text.quoted(value)) is not an ISO 4217 currency code")
    }
    return code
  }
}

/// The backtest's months on the company's clock.
enum ForecastMonths {
  /// `count` full months before the one `now` falls in, then that one (not complete at `now`).
  static func periods(count: Int, before now: Date, in zone: TimeZone) -> [BacktestPeriod] {
    let calendar = calendar(zone)
    guard let current = calendar.dateInterval(of: .month, for: now)?.start else { return [] }
    let starts = (-count...1).compactMap { calendar.date(byAdding: .month, value: $0, to: current) }
    return BacktestPeriod.consecutive(starts)
  }

  /// "YYYY-MM" of the month that starts at `start`.
  static func label(_ start: Date, in zone: TimeZone) -> String {
    let parts = calendar(zone).dateComponents([.year, .month], from: start)
    let year = parts.year ?? 0
    let month = parts.month ?? 0
    return "\(year)-\(month < 10 ? "0" : "")\(month)"
  }

  private static func calendar(_ zone: TimeZone) -> Calendar {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    return calendar
  }
}
