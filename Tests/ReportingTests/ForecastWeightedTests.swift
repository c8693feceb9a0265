import CRMDomain
import Testing

@testable import ReportingService

/// The weighted pipeline, raw and corrected, against figures worked by hand.
@Suite("Forecast: weighted pipeline")
struct ForecastWeightedTests {
  static let coefficients = ["anna": 0.8, "boris": 1.5]

  /// anna, RUB: 100 000 at 50% and 33 333 at 30%, coefficient 0.8:
  ///   raw 50 000 + 9 999.9 = 59 999.9 → 60 000; corrected 100 000 × 0.4 + 33 333 × 0.24 =
  ///   40 000 + 7 999.92 = 47 999.92 → 48 000.
  /// boris, RUB: 1 000 at 90%, coefficient 1.5: raw 900; corrected min(1, 1.35) → 1 000 (the cap).
  /// boris, USD: 250 at 10%: raw 25; corrected 250 × 0.15 = 37.5 → 38 (halves up).
  /// team, RUB: raw 59 999.9 + 900 = 60 899.9 → 60 900; corrected 47 999.92 + 1 000 → 49 000.
  static let pipeline = [
    OpenPipeline(owner: "anna", currency: "RUB", probability: 50, amountMinor: 100_000),
    OpenPipeline(owner: "boris", currency: "RUB", probability: 90, amountMinor: 1_000),
    OpenPipeline(owner: "anna", currency: "RUB", probability: 30, amountMinor: 33_333),
    OpenPipeline(owner: "boris", currency: "USD", probability: 10, amountMinor: 250),
  ]

  @Test func matchesTheFiguresWorkedByHand() throws {
    let forecast = try WeightedForecast.make(Self.pipeline) { Self.coefficients[$0] ?? 1 }
    #expect(
      forecast.managers == [
        ForecastRow(
          owner: "anna", currency: "RUB", deals: 2, amountMinor: 133_333, rawMinor: 60_000, correctedMinor: 48_000,
          coefficient: 0.8),
        ForecastRow(
          owner: "boris", currency: "RUB", deals: 1, amountMinor: 1_000, rawMinor: 900, correctedMinor: 1_000,
          coefficient: 1.5),
        ForecastRow(
          owner: "boris", currency: "USD", deals: 1, amountMinor: 250, rawMinor: 25, correctedMinor: 38,
          coefficient: 1.5),
      ])
    #expect(
      forecast.team == [
        ForecastRow(
          owner: nil, currency: "RUB", deals: 3, amountMinor: 134_333, rawMinor: 60_900, correctedMinor: 49_000,
          coefficient: nil),
        ForecastRow(
          owner: nil, currency: "USD", deals: 1, amountMinor: 250, rawMinor: 25, correctedMinor: 38, coefficient: nil),
      ])
  }

  @Test func aCoefficientOfOneChangesNothingAndBucketsEqualDeals() throws {
    // Amounts chosen so products have fractions: every raw figure must round alike both ways.
    let deals = (1...60).map { i in
      OpenPipeline(
        owner: ["a", "b", "c"][i % 3], currency: i % 4 == 0 ? "EUR" : "RUB",
        probability: [10, 25, 50, 75, 90, 33][i % 6],
        amountMinor: Int64(i) * 1_234_567 + 89)
    }
    let forecast = try WeightedForecast.make(deals) { _ in 1 }
    for row in forecast.managers + forecast.team {
      #expect(row.correctedMinor == row.rawMinor, "\(row)")
    }
    // The same deals summed per owner × currency × probability, as a query would hand them.
    var buckets: [String: OpenPipeline] = [:]
    for deal in deals {
      let key = "\(deal.owner)|\(deal.currency)|\(deal.probability)"
      var bucket =
        buckets[key]
        ?? OpenPipeline(
          owner: deal.owner, currency: deal.currency, probability: deal.probability, amountMinor: 0, deals: 0)
      bucket.amountMinor += deal.amountMinor
      bucket.deals += 1
      buckets[key] = bucket
    }
    #expect(buckets.count < deals.count)
    let coefficients: [String: Double] = ["a": 0.7, "b": 1.3, "c": 2.5]
    let fromBuckets = try WeightedForecast.make(Array(buckets.values)) { coefficients[$0] ?? 1 }
    let fromDeals = try WeightedForecast.make(deals) { coefficients[$0] ?? 1 }
    #expect(fromBuckets == fromDeals)
    #expect(fromDeals.team.allSatisfy { $0.correctedMinor != $0.rawMinor })
  }

  @Test func hugeAmountsAreRefusedNamingTheRowNotWrapped() throws {
    // One deal of the largest amount at 100% fits exactly.
    let largest = OpenPipeline(owner: "a", currency: "RUB", probability: 100, amountMinor: .max)
    let alone = try WeightedForecast.make([largest]) { _ in 3 }
    #expect(alone.managers.first?.rawMinor == .max)
    #expect(alone.managers.first?.correctedMinor == .max)
    // Two such deals of one manager: his row overflows.
    #expect(throws: ForecastOverflow(owner: "a", currency: "RUB")) {
      try WeightedForecast.make([largest, largest]) { _ in 1 }
    }
    // One each for two managers: their rows fit, the team's does not.
    var other = largest
    other.owner = "b"
    #expect(throws: ForecastOverflow(owner: nil, currency: "RUB")) {
      try WeightedForecast.make([largest, other]) { _ in 1 }
    }
    // Weighted at 40%, two of them fit in the weighted sums but not in the pipeline's amount.
    var weighted = largest
    weighted.probability = 40
    #expect(throws: ForecastOverflow(owner: "a", currency: "RUB")) {
      try WeightedForecast.make([weighted, weighted]) { _ in 1 }
    }
  }

  @Test func badInputIsRefusedNamingTheField() {
    var negative = Self.pipeline[0]
    negative.amountMinor = -1
    #expect(throws: InvalidField(field: "pipeline[1].amountMinor", reason: "is negative (-1)")) {
      try WeightedForecast.make([Self.pipeline[0], negative]) { _ in 1 }
    }
    var improbable = Self.pipeline[0]
    improbable.probability = 101
    #expect(throws: InvalidField(field: "pipeline[0].probability", reason: "is 101; must be within 0…100")) {
      try WeightedForecast.make([improbable]) { _ in 1 }
    }
    #expect(throws: InvalidField(field: "coefficient[anna]", reason: "is nan; must be finite and non-negative")) {
      try WeightedForecast.make(Self.pipeline) { _ in .nan }
    }
    #expect(throws: InvalidField(field: "coefficient[anna]", reason: "is -0.5; must be finite and non-negative")) {
      try WeightedForecast.make(Self.pipeline) { _ in -0.5 }
    }
  }
}
