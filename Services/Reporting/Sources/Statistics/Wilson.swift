/// The Wilson score interval of a binomial proportion (Wilson 1927; Newcombe 1998, method 3):
/// unlike p ± z·√(p(1−p)/n) it stays within [0, 1] and is honest for small n and for p near 0
/// or 1 — a manager's conversion over a handful of deals must not look certain.
struct WilsonInterval: Equatable, Sendable {
  /// z of a two-sided 95% interval.
  static let z95 = 1.959_963_984_540_054

  var successes: Int
  var trials: Int
  /// successes / trials (0 when there were no trials).
  var proportion: Double
  var lower: Double
  var upper: Double

  /// No trials say nothing: the interval is all of [0, 1].
  init(successes: Int, trials: Int, z: Double = z95) {
    precondition(trials >= 0 && successes >= 0 && successes <= trials, "0 ≤ successes ≤ trials")
    self.successes = successes
    self.trials = trials
    guard trials > 0 else {
      proportion = 0
      lower = 0
      upper = 1
      return
    }
    let n = Double(trials)
    let p = Double(successes) / n
    let z2 = z * z
    let denominator = 1 + z2 / n
    let center = (p + z2 / (2 * n)) / denominator
    let half = z / denominator * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()
    proportion = p
    // Exact bounds at the edges (rounding would leave 1e-17 instead of 0).
    lower = successes == 0 ? 0 : max(0, center - half)
    upper = successes == trials ? 1 : min(1, center + half)
  }
}
