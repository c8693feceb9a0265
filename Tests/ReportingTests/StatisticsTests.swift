import Testing

@testable import ReportingService

/// The Wilson interval against Newcombe (1998), "Two-sided confidence intervals for the single
/// proportion", Statistics in Medicine 17: 857–872, table I, method 3 (score, no continuity
/// correction); and the median's two cases.
@Suite("Reporting statistics")
struct StatisticsTests {
  @Test(arguments: [
    (81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718),
  ])
  func wilsonMatchesNewcombesTable(successes: Int, trials: Int, lower: Double, upper: Double) {
    let interval = WilsonInterval(successes: successes, trials: trials)
    #expect(abs(interval.lower - lower) < 0.000_05, "lower of \(successes)/\(trials): \(interval.lower)")
    #expect(abs(interval.upper - upper) < 0.000_05, "upper of \(successes)/\(trials): \(interval.upper)")
    #expect(interval.proportion == Double(successes) / Double(trials))
  }

  @Test func wilsonIsSymmetricAndStaysInTheUnitInterval() {
    let all = WilsonInterval(successes: 20, trials: 20)
    let none = WilsonInterval(successes: 0, trials: 20)
    #expect(all.upper == 1 && none.lower == 0)
    #expect(abs(all.lower - (1 - none.upper)) < 1e-12)
    let empty = WilsonInterval(successes: 0, trials: 0)
    #expect(empty.lower == 0 && empty.upper == 1 && empty.proportion == 0)
  }

  @Test func medianOfOddAndEvenSamples() {
    #expect(Median.of([]) == nil)
    #expect(Median.of([5]) == 5)
    #expect(Median.of([3, 1, 2]) == 2)
    #expect(Median.of([4, 1, 3, 2]) == 2.5)
  }
}
