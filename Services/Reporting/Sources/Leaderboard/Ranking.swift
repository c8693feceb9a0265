/// Competition ranks ("1224"): equal values share a rank, the next rank skips as many as tied.
/// Managers without a value (nil) get no rank (0), and are not counted for the others.
enum Ranking {
  /// The rank of each value; `higherIsBetter` false ranks the smallest first (discipline).
  static func ranks(_ values: [Double?], higherIsBetter: Bool = true) -> [Int32] {
    let present = values.compactMap { $0 }
    return values.map { value in
      guard let value else { return 0 }
      let better = present.filter { higherIsBetter ? $0 > value : $0 < value }.count
      return Int32(better + 1)
    }
  }
}

/// A least-squares line through (x, y) points: the trend of a weekly figure.
enum Trend {
  /// The slope of y against x; 0 with fewer than two distinct x.
  static func slope(_ points: [(x: Double, y: Double)]) -> Double {
    guard points.count >= 2 else { return 0 }
    let n = Double(points.count)
    let meanX = points.map(\.x).reduce(0, +) / n
    let meanY = points.map(\.y).reduce(0, +) / n
    let sxx = points.map { ($0.x - meanX) * ($0.x - meanX) }.reduce(0, +)
    guard sxx > 0 else { return 0 }
    return points.map { ($0.x - meanX) * ($0.y - meanY) }.reduce(0, +) / sxx
  }
}
