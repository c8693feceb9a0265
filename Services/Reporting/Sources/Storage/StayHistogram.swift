import Foundation

/// Finished stays at a stage counted by length, on a log scale, so that months of funnel cells
/// add up and still give a median (`funnel_cells`' columns h0…h63).
///
/// Bucket 0 holds stays under a minute; bucket b ≥ 1 holds [60 s × 2^((b−1)/3), 60 s × 2^(b/3)):
/// three buckets an octave, each 26% wider than the one before; the last (63) starts at 3.2
/// years and takes everything longer. The median is interpolated within its bucket (linearly in
/// the logarithm; linearly in bucket 0), so it is always inside the bucket of the true median:
/// at worst 26% off, and on smooth data far closer (the bench's data: see its report).
struct StayHistogram: Sendable, Equatable {
  static let count = 64
  static let perOctave = 3.0
  static let floorSeconds = 60.0

  var counts: [Int64]

  /// Counts by bucket; missing buckets are 0, extra ones dropped.
  init(counts: [Int64]) {
    var padded = Array(counts.prefix(Self.count))
    padded += Array(repeating: 0, count: Self.count - padded.count)
    self.counts = padded
  }

  init() { counts = Array(repeating: 0, count: Self.count) }

  /// The bucket of a stay of `seconds` (the same rule as `sqlBucket`).
  static func bucket(_ seconds: Double) -> Int {
    guard seconds >= floorSeconds else { return 0 }
    return min(count - 1, Int((log2(seconds / floorSeconds) * perOctave).rounded(.down)) + 1)
  }

  /// The bucket of a finished stay, in SQL (stage_visits `s`): null for a stay not finished.
  static let sqlBucket = """
    CASE WHEN s.outcome IN ('advanced', 'lost', 'won') THEN least(\(count - 1), greatest(0,
      floor(ln(greatest(extract(epoch FROM s.left_at - s.entered_at)::double precision, 1) / \(floorSeconds))
        / ln(2) * \(perOctave))::int + 1)) END
    """

  /// The columns, in order.
  static let columns = (0..<count).map { "h\($0)" }

  static func lower(_ bucket: Int) -> Double {
    bucket == 0 ? 0 : floorSeconds * pow(2, Double(bucket - 1) / perOctave)
  }

  static func upper(_ bucket: Int) -> Double { floorSeconds * pow(2, Double(bucket) / perOctave) }

  mutating func add(_ other: StayHistogram) {
    for index in counts.indices { counts[index] += other.counts[index] }
  }

  var total: Int64 { counts.reduce(0, +) }

  /// The median as `Median.of` defines it (the mean of the two middle stays when their number
  /// is even), each middle stay estimated within its bucket; 0 when there are none.
  var median: Double {
    let total = self.total
    guard total > 0 else { return 0 }
    if total % 2 == 1 { return orderStatistic((total + 1) / 2) }
    return (orderStatistic(total / 2) + orderStatistic(total / 2 + 1)) / 2
  }

  /// The estimate of the `rank`-th shortest stay (1-based): the stays of its bucket spread evenly
  /// over the bucket (each at the middle of its share).
  func orderStatistic(_ rank: Int64) -> Double {
    var before: Int64 = 0
    for (bucket, count) in counts.enumerated() where count > 0 {
      if before + count >= rank {
        let position = (Double(rank - before) - 0.5) / Double(count)
        let low = Self.lower(bucket)
        let high = Self.upper(bucket)
        return bucket == 0 ? low + (high - low) * position : low * pow(high / low, position)
      }
      before += count
    }
    return Self.lower(Self.count - 1)
  }
}
