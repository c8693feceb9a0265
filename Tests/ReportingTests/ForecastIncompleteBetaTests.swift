import Testing

@testable import ReportingService

/// The incomplete beta function and its inverse against closed forms worked by hand and against
/// reference values: mpmath 1.3.0's `betainc(a, b, 0, x, regularized=True)` at 30 digits, and for
/// the inverse `findroot` on it at 30 digits, both rounded to 17; scipy 1.17.1's `betainc` and
/// `betaincinv` agree with them to 1e-15 relative (computed 2026-12-01).
@Suite("Forecast: incomplete beta")
struct ForecastIncompleteBetaTests {
  /// (x, a, b, I_x(a, b)), from mpmath.
  static let values: [(Double, Double, Double, Double)] = [
    (0.1, 0.5, 0.5, 0.20483276469913346),
    (0.3, 5, 10, 0.41579881378064996),
    (0.001, 0.1, 10, 0.65966666022082501),
    (0.95, 10, 0.1, 0.059783264420914168),
    (0.42, 200, 300, 0.8196010664172663),
    (0.38, 200, 300, 0.18093001184220385),
    (0.7, 30, 12, 0.40104779034960977),
    (0.05, 2, 50, 0.73069258653150338),
    (1e-5, 3, 2, 3.999970000000001e-15),
    (0.6, 1000, 700, 0.83781978620784704),
    (0.5, 0.005, 2, 0.9990316134849375),
    (0.2, 95, 5, 6.1721692541423423e-61),
  ]

  /// (p, a, b, x with I_x(a, b) = p), from mpmath.
  static let quantiles: [(Double, Double, Double, Double)] = [
    (0.025, 25, 37, 0.28550438240732372),
    (0.975, 25, 37, 0.526863929605698),
    (0.05, 0.5, 0.5, 0.0061558297024311376),
    (0.999, 3, 200, 0.054334901309859853),
    (1e-6, 5, 5, 0.024380981416890593),
    (0.01, 0.2, 0.3, 8.9378476836349508e-10),
    (0.9, 1000, 700, 0.60350862183634839),
    (0.3, 168, 92, 0.63086820560292357),
    (0.975, 0.01, 3, 0.018517027223824933),
    (0.5, 50, 0.05, 0.99999998874551446),
  ]

  static func close(_ value: Double, _ expected: Double, relative: Double) -> Bool {
    abs(value - expected) <= relative * abs(expected)
  }

  @Test func matchesClosedFormsWorkedByHand() {
    // Integer a, b: I_x(a, b) = P(Binomial(a + b − 1, x) ≥ a). I_0.4(2, 3) = 1 − 0.6⁴ − 4·0.4·0.6³
    // = 1 − 0.1296 − 0.3456 = 0.5248.
    #expect(Self.close(IncompleteBeta.regularized(0.4, a: 2, b: 3), 0.5248, relative: 1e-14))
    // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 − (1 − x)^b.
    #expect(Self.close(IncompleteBeta.regularized(0.37, a: 1, b: 1), 0.37, relative: 1e-14))
    #expect(Self.close(IncompleteBeta.regularized(0.8, a: 3, b: 1), 0.512, relative: 1e-14))
    #expect(Self.close(IncompleteBeta.regularized(0.5, a: 1, b: 4), 1 - 0.0625, relative: 1e-14))
    // Beta(½, ½) is the arcsine law: I_x(½, ½) = (2/π) arcsin √x; at x = ¼ that is (2/π)(π/6) = ⅓.
    #expect(Self.close(IncompleteBeta.regularized(0.25, a: 0.5, b: 0.5), 1.0 / 3, relative: 1e-13))
    // Symmetric parameters: the median is ½.
    #expect(Self.close(IncompleteBeta.regularized(0.5, a: 7.3, b: 7.3), 0.5, relative: 1e-13))
  }

  @Test func matchesReferenceValues() {
    for (x, a, b, expected) in Self.values {
      let value = IncompleteBeta.regularized(x, a: a, b: b)
      #expect(Self.close(value, expected, relative: 1e-11), "I_\(x)(\(a), \(b)) = \(value), expected \(expected)")
    }
  }

  @Test func inverseMatchesReferenceQuantiles() {
    for (p, a, b, expected) in Self.quantiles {
      let x = IncompleteBeta.inverse(p, a: a, b: b)
      #expect(Self.close(x, expected, relative: 1e-10), "I⁻¹_\(p)(\(a), \(b)) = \(x), expected \(expected)")
    }
  }

  @Test func inverseUndoesTheFunctionAcrossShapes() {
    for (a, b) in [(0.3, 0.3), (0.5, 8), (2, 3), (12, 4), (150, 40), (2_000, 3_000)] {
      // Not much closer to 1: for a = b = 0.3 the x of p = 1 − 1e-6 is 1 − 1e-19, which a Double
      // cannot hold apart from 1.
      for p in [1e-8, 0.001, 0.025, 0.3, 0.5, 0.8, 0.975, 0.999] {
        let x = IncompleteBeta.inverse(p, a: a, b: b)
        let back = IncompleteBeta.regularized(x, a: a, b: b)
        #expect(Self.close(back, p, relative: 1e-9), "a \(a) b \(b) p \(p): x \(x) gives \(back)")
      }
    }
  }

  @Test func edgesAndNonsenseGiveBoundsOrNaN() {
    #expect(IncompleteBeta.regularized(0, a: 2, b: 3) == 0)
    #expect(IncompleteBeta.regularized(1, a: 2, b: 3) == 1)
    #expect(IncompleteBeta.regularized(-0.5, a: 2, b: 3) == 0)
    #expect(IncompleteBeta.regularized(0.5, a: 0, b: 3).isNaN)
    #expect(IncompleteBeta.regularized(0.5, a: 2, b: .infinity).isNaN)
    #expect(IncompleteBeta.inverse(0, a: 2, b: 3) == 0)
    #expect(IncompleteBeta.inverse(1, a: 2, b: 3) == 1)
    #expect(IncompleteBeta.inverse(1.5, a: 2, b: 3).isNaN)
    #expect(BetaDistribution(alpha: -1, beta: 2) == nil)
  }

  @Test func posteriorIntervalHoldsItsMass() throws {
    let posterior = try #require(BetaDistribution(alpha: 25, beta: 37))
    let interval = posterior.interval(level: 0.95)
    #expect(Self.close(interval.lowerBound, 0.28550438240732372, relative: 1e-10))
    #expect(Self.close(interval.upperBound, 0.526863929605698, relative: 1e-10))
    #expect(interval.contains(posterior.mean))
    #expect(Self.close(posterior.cdf(interval.upperBound) - posterior.cdf(interval.lowerBound), 0.95, relative: 1e-10))
  }
}
