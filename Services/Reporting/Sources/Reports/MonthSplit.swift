import Foundation

/// A period cut into the whole UTC months inside it (read from monthly sums) and the stretches
/// at its ends that fall inside a month (read from the rows): together exactly the period.
/// Pure; the lead funnel's (`LeadAggregates`).
struct MonthSplit: Sendable {
  /// The months [from, to) read from the sums (an end nil: open); nil: no whole month (the
  /// period lies inside one month, or spans less than a whole one).
  var months: (from: Date?, to: Date?)?
  /// Every month: the sums' every-month row (the period is open at both ends).
  var allTime: Bool
  /// The stretches read from the rows: [from, to), each bounded.
  var edges: [(from: Date, to: Date)]

  init(_ period: ReportPeriod) {
    guard period.from != nil || period.to != nil else {
      (months, allTime, edges) = ((nil, nil), true, [])
      return
    }
    allTime = false
    let first = period.from.map(Self.monthStartOnOrAfter)
    let last = period.to.map(Self.monthStart)
    if let first, let last, first >= last {
      // No whole month inside: the rows only (an empty period has no stretch either).
      months = nil
      edges = period.from! < period.to! ? [(period.from!, period.to!)] : []
      return
    }
    months = (first, last)
    edges = []
    if let from = period.from, let first, from < first { edges.append((from, first)) }
    if let to = period.to, let last, last < to { edges.append((last, to)) }
  }

  /// The start of the UTC month `date` is in.
  static func monthStart(_ date: Date) -> Date {
    Calendar.utc.dateInterval(of: .month, for: date)?.start ?? date
  }

  /// `date` when it starts a UTC month, else the start of the next one.
  static func monthStartOnOrAfter(_ date: Date) -> Date {
    let start = monthStart(date)
    guard start < date else { return start }
    return Calendar.utc.date(byAdding: .month, value: 1, to: start) ?? date
  }
}
