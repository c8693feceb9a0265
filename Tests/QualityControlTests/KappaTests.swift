import Testing

@testable import QualityControlService

/// Cohen's kappa against an example computed by hand.
@Suite("Kappa")
struct KappaTests {
  /// Ten items on a 0–2 scale, (first review, second review):
  ///
  ///     first \ second   0  1  2 | rows
  ///     0                2  1  0 |  3
  ///     1                0  2  1 |  3
  ///     2                0  1  3 |  4
  ///     columns          2  4  4 | 10
  ///
  /// Unweighted: p_o = 7/10, p_e = (3·2 + 3·4 + 4·4)/100 = 34/100,
  /// κ = (0.70 − 0.34)/(1 − 0.34) = 6/11 ≈ 0.5455.
  /// Quadratic weights (i − j)²/2²: observed disagreement 3 × ¼ / 10 = 3/40; expected
  /// ¼ × (3·4 + 3·2 + 3·4 + 4·4)/100 + 1 × (3·4 + 4·2)/100 = 11.5/100 + 20/100 = 63/200;
  /// κ_w = 1 − (3/40)/(63/200) = 1 − 15/63 = 16/21 ≈ 0.7619.
  static let pairs = [(0, 0), (0, 0), (1, 1), (1, 1), (1, 2), (2, 2), (2, 2), (2, 1), (0, 1), (2, 2)]

  @Test func matchesTheHandComputedExample() throws {
    let kappa = Kappa.of(Self.pairs, scaleMax: 2)
    #expect(kappa.pairs == 10)
    #expect(abs(try #require(kappa.unweighted) - 6.0 / 11.0) < 1e-12)
    #expect(abs(try #require(kappa.weighted) - 16.0 / 21.0) < 1e-12)
    #expect(abs(kappa.exactAgreement - 0.7) < 1e-12)
  }

  @Test func perfectAgreementIsOneAndChanceAgreementIsUndefined() {
    let perfect = Kappa.of([(0, 0), (3, 3), (5, 5), (1, 1)], scaleMax: 5)
    #expect(perfect.weighted == 1)
    #expect(perfect.unweighted == 1)
    // Every item got the same score from both: chance explains it all, kappa says nothing.
    let constant = Kappa.of([(2, 2), (2, 2), (2, 2)], scaleMax: 2)
    #expect(constant.weighted == nil)
    #expect(constant.exactAgreement == 1)
    #expect(Kappa.of([], scaleMax: 2) == Kappa(pairs: 0, weighted: nil, unweighted: nil, exactAgreement: 0))
  }

  @Test func systematicDisagreementIsNegative() throws {
    let opposite = Kappa.of([(0, 2), (2, 0), (0, 2), (2, 0)], scaleMax: 2)
    #expect(try #require(opposite.weighted) < 0)
  }
}
