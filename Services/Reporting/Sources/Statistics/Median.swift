/// The median of a sample: the middle value, or the mean of the two middle values when the
/// count is even (PostgreSQL's `percentile_cont(0.5)`, which the funnel query uses on the
/// database side, is the same definition). Nil for an empty sample.
enum Median {
  static func of(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  }
}
