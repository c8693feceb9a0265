import CRMContracts
import CRMHistory
import Foundation

/// What the reports should show of a planned history beyond the truth's per-manager counts:
/// figures the test reads off the plan itself (QC score bounds, the backtest's months).
enum HistoryReportingExpectations {
  /// The weighted scores (0–100) of one manager's meeting and call reports, as the generator's
  /// reviewers give them, lowest first.
  static func reviewScores(_ plan: HistoryPlan, of manager: String) -> [Double] {
    plan.deals.filter { $0.managerID == manager }.flatMap(\.steps).flatMap(\.activities)
      .map { ReportScoring.weightedScore(of: $0.text) }.sorted()
  }

  /// Where the mean over `reviews` reviews of these items must lie: each item reviewed once, and
  /// `reviews − items` of them a second time (quality control reviews an item twice at most), the
  /// lowest or the highest ones at the extremes.
  static func meanBounds(scores: [Double], reviews: Int) -> ClosedRange<Double>? {
    let extra = reviews - scores.count
    guard !scores.isEmpty, extra >= 0, extra <= scores.count else { return nil }
    let sum = scores.reduce(0, +)
    let low = (sum + scores.prefix(extra).reduce(0, +)) / Double(reviews)
    let high = (sum + scores.suffix(extra).reduce(0, +)) / Double(reviews)
    return low...high
  }

  /// One month of the backtest, as the plan makes it: the deals open at its start whose expected
  /// close (a day on the company's clock) is before its end, and those of them won within it.
  struct BacktestMonth: Equatable, CustomStringConvertible {
    var forecastDeals = 0
    var wonDeals = 0
    var wonMinor: Int64 = 0

    var description: String { "\(forecastDeals) forecast, \(wonDeals) won (\(wonMinor))" }
  }

  static func backtestMonth(_ plan: HistoryPlan, start: Date, end: Date, zone: TimeZone) -> BacktestMonth {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    var month = BacktestMonth()
    for deal in plan.deals {
      guard let close = deal.expectedClose, case .direct(_, let openedAt, let amount, _) = deal.origin,
        openedAt < start,
        let closeDay = calendar.date(
          from: DateComponents(year: Int(close.year), month: Int(close.month), day: Int(close.day))),
        closeDay < end
      else { continue }
      let closing = deal.steps.first {
        switch $0.action {
        case .win, .lose: true
        default: false
        }
      }
      if let closing, closing.at < start { continue }
      month.forecastDeals += 1
      if let closing, case .win = closing.action, closing.at < end {
        month.wonDeals += 1
        month.wonMinor += amount
      }
    }
    return month
  }

  /// Pooled conversion over some stages of funnels' rows (one manager's, or the team's): moved
  /// on — won, at a pipeline's last stage — over the deals that left them. `pick` takes a
  /// stage by its index and the pipeline's stage count.
  static func conversion(
    _ rows: [(row: Crm_Reporting_V1_GetFunnelReply.Row, index: Int, stages: Int)],
    picking pick: (_ index: Int, _ stages: Int) -> Bool
  ) -> Double {
    var out: Int64 = 0
    var left: Int64 = 0
    for (row, index, stages) in rows where pick(index, stages) {
      out += index == stages - 1 ? row.won : row.advanced
      left += row.entered - row.open
    }
    return left > 0 ? Double(out) / Double(left) : 0
  }
}
