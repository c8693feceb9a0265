/// Cohen's kappa of two ratings of the same items on an ordinal scale 0…`scaleMax`: how much
/// more the two reviews agree than chance would make them. Quadratic weights count a
/// disagreement of two steps four times one of one step (the scales are ordinal); the
/// unweighted kappa counts every disagreement alike.
struct Kappa: Sendable, Equatable {
  /// Pairs the figures rest on.
  var pairs: Int
  /// nil when undefined: no pair, or chance alone would make the reviews agree on every item
  /// (both gave every item one and the same score).
  var weighted: Double?
  var unweighted: Double?
  /// Share of pairs with the same score (0 without pairs).
  var exactAgreement: Double

  /// `ratings`: (first review's score, second review's score) per item, each in 0…`scaleMax`.
  static func of(_ ratings: [(Int, Int)], scaleMax: Int) -> Kappa {
    let categories = scaleMax + 1
    let n = Double(ratings.count)
    guard !ratings.isEmpty, scaleMax > 0 else {
      return Kappa(pairs: ratings.count, weighted: nil, unweighted: nil, exactAgreement: 0)
    }
    var observed = Array(repeating: Array(repeating: 0.0, count: categories), count: categories)
    for (first, second) in ratings {
      let a = min(max(first, 0), scaleMax)
      let b = min(max(second, 0), scaleMax)
      observed[a][b] += 1 / n
    }
    let rows = observed.map { $0.reduce(0, +) }
    let columns = (0..<categories).map { j in observed.reduce(0) { $0 + $1[j] } }
    func kappa(_ weight: (Int, Int) -> Double) -> Double? {
      var disagreement = 0.0
      var chance = 0.0
      for i in 0..<categories {
        for j in 0..<categories {
          disagreement += weight(i, j) * observed[i][j]
          chance += weight(i, j) * rows[i] * columns[j]
        }
      }
      return chance > 1e-12 ? 1 - disagreement / chance : nil
    }
    let span = Double(scaleMax * scaleMax)
    return Kappa(
      pairs: ratings.count,
      weighted: kappa { Double(($0 - $1) * ($0 - $1)) / span },
      unweighted: kappa { $0 == $1 ? 0 : 1 },
      exactAgreement: (0..<categories).reduce(0) { $0 + observed[$1][$1] })
  }
}
