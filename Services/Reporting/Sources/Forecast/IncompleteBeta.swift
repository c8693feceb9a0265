import Foundation

/// The regularized incomplete beta function I_x(a, b) — the distribution function of Beta(a, b) —
/// and its inverse: the quantiles behind the calibration coefficients' intervals.
///
/// I_x(a, b) is evaluated by its continued fraction (Numerical Recipes, 3rd ed., §6.4) with the
/// modified Lentz method, on the side of the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) where it
/// converges fast (x < (a + 1)/(a + b + 2)). The inverse is Newton's method on I_x − p kept
/// inside a bracket that every step narrows, bisecting whenever a Newton step would leave it.
enum IncompleteBeta {
  /// I_x(a, b) for a, b > 0; x below 0 counts as 0 and above 1 as 1. NaN when a or b is not a
  /// positive finite number (the callers' parameters are computed, never read from the wire).
  static func regularized(_ x: Double, a: Double, b: Double) -> Double {
    guard valid(a, b), !x.isNaN else { return .nan }
    if x <= 0 { return 0 }
    if x >= 1 { return 1 }
    // x^a (1 − x)^b / B(a, b), in logarithms: the powers alone underflow for large a and b.
    let front = exp(a * log(x) + b * log1p(-x) - logBeta(a, b))
    if x < (a + 1) / (a + b + 2) {
      return min(1, front * continuedFraction(x, a: a, b: b) / a)
    }
    return max(0, 1 - front * continuedFraction(1 - x, a: b, b: a) / b)
  }

  /// The x in [0, 1] with I_x(a, b) = p. NaN when p is outside [0, 1] or a, b are not positive.
  static func inverse(_ p: Double, a: Double, b: Double) -> Double {
    guard valid(a, b), p >= 0, p <= 1 else { return .nan }
    if p == 0 { return 0 }
    if p == 1 { return 1 }
    var low = 0.0
    var high = 1.0
    var x = min(max(a / (a + b), 1e-3), 1 - 1e-3)
    for _ in 0..<1_000 {
      let excess = regularized(x, a: a, b: b) - p
      if excess == 0 { return x }
      if excess < 0 { low = x } else { high = x }
      let slope = density(x, a: a, b: b)
      var next = x - excess / slope
      // A Newton step that leaves the bracket (or has no slope to follow) becomes a bisection:
      // the bracket still holds the root, so the search cannot wander off or loop.
      // Near 0 or 1 it steps by a factor rather than halves: a quantile may be as small as 1e-10.
      if !(next > low && next < high) {
        if low == 0 && high < 0.5 {
          next = high / 16
        } else if high == 1 && low > 0.5 {
          next = 1 - (1 - low) / 16
        } else {
          next = (low + high) / 2
        }
      }
      if abs(next - x) <= 4 * Double.ulpOfOne * x || high - low <= 4 * Double.ulpOfOne * high {
        return next
      }
      x = next
    }
    return x
  }

  /// The Beta(a, b) density at x in (0, 1).
  static func density(_ x: Double, a: Double, b: Double) -> Double {
    guard x > 0, x < 1 else { return 0 }
    return exp((a - 1) * log(x) + (b - 1) * log1p(-x) - logBeta(a, b))
  }

  /// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
  static func logBeta(_ a: Double, _ b: Double) -> Double {
    logGamma(a) + logGamma(b) - logGamma(a + b)
  }

  /// lgamma_r, not lgamma: the latter writes the sign to a global (a data race between threads).
  private static func logGamma(_ x: Double) -> Double {
    var sign: Int32 = 0
    return lgamma_r(x, &sign)
  }

  private static func valid(_ a: Double, _ b: Double) -> Bool {
    a > 0 && b > 0 && a.isFinite && b.isFinite
  }

  /// The continued fraction of I_x(a, b) (NR's betacf), modified Lentz. It converges in
  /// O(√max(a, b)) terms on the side `regularized` picks; the bound only stops a runaway.
  private static func continuedFraction(_ x: Double, a: Double, b: Double) -> Double {
    let tiny = 1e-300
    let epsilon = 1e-16
    let qab = a + b
    let qap = a + 1
    let qam = a - 1
    var c = 1.0
    var d = 1 - qab * x / qap
    if abs(d) < tiny { d = tiny }
    d = 1 / d
    var h = d
    let terms = 10_000 + Int(min(sqrt(max(a, b)) * 10, 1e6))
    for m in 1...terms {
      let m = Double(m)
      let m2 = 2 * m
      // Even step.
      var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
      d = 1 + aa * d
      if abs(d) < tiny { d = tiny }
      c = 1 + aa / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      h *= d * c
      // Odd step.
      aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
      d = 1 + aa * d
      if abs(d) < tiny { d = tiny }
      c = 1 + aa / c
      if abs(c) < tiny { c = tiny }
      d = 1 / d
      let delta = d * c
      h *= delta
      if abs(delta - 1) <= epsilon { break }
    }
    return h
  }
}

/// Beta(α, β): the posterior of a win rate, with its mean and quantiles.
struct BetaDistribution: Sendable, Equatable {
  var alpha: Double
  var beta: Double

  /// nil unless both parameters are positive and finite.
  init?(alpha: Double, beta: Double) {
    guard alpha > 0, beta > 0, alpha.isFinite, beta.isFinite else { return nil }
    self.alpha = alpha
    self.beta = beta
  }

  var mean: Double { alpha / (alpha + beta) }

  func cdf(_ x: Double) -> Double { IncompleteBeta.regularized(x, a: alpha, b: beta) }

  /// The x with P(X ≤ x) = p, for p in [0, 1].
  func quantile(_ p: Double) -> Double { IncompleteBeta.inverse(p, a: alpha, b: beta) }

  /// The equal-tailed interval holding `level` of the mass (e.g. 0.95: the 2.5% and 97.5% quantiles).
  func interval(level: Double) -> ClosedRange<Double> {
    let tail = (1 - min(max(level, 0), 1)) / 2
    let lower = quantile(tail)
    return lower...max(lower, quantile(1 - tail))
  }
}
