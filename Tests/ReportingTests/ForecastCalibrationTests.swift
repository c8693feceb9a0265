import CRMDomain
import Testing

@testable import ReportingService

/// Calibration coefficients on planted teams: whose estimates are inflated, who is honest, who has
/// too short a record to judge.
@Suite("Forecast: calibration")
struct ForecastCalibrationTests {
  /// `closed` deals all stated at `percent`, of which `won` were won.
  static func record(_ owner: String, closed: Int, at percent: Int, won: Int) -> CalibrationRecord {
    CalibrationRecord(owner: owner, closed: closed, won: won, statedPercent: Int64(closed * percent))
  }

  /// Four honest managers (each wins about what he states) and one who states 80% and wins 40%.
  static let team = [
    record("anna", closed: 50, at: 60, won: 30),
    record("boris", closed: 40, at: 50, won: 20),
    record("vera", closed: 45, at: 70, won: 31),
    record("gleb", closed: 55, at: 40, won: 22),
    record("inflated", closed: 60, at: 80, won: 24),
  ]

  static func manager(_ calibration: Calibration, _ owner: String) throws -> ManagerCalibration {
    try #require(calibration.managers.first { $0.owner == owner })
  }

  @Test func inflatedEstimatesGetACoefficientClearlyBelowOne() throws {
    let calibration = try Calibration.fit(Self.team)
    let inflated = try Self.manager(calibration, "inflated")
    #expect(inflated.raw == 0.5)
    #expect(inflated.coefficient < 0.75)
    let interval = try #require(inflated.interval)
    #expect(interval.upperBound < 1)
    #expect(interval.contains(inflated.coefficient))
    // The team's own coefficient is dragged below 1 by him, and his is below the team's.
    let team = try #require(calibration.teamCoefficient)
    #expect(team < 1 && inflated.coefficient < team)
    // The spread between managers is real here: the prior is fitted, not clamped.
    #expect(calibration.priorFit == .fitted)
  }

  /// The model's steps for `team`, worked in Python (scipy 1.17.1's `beta.ppf` for the quantiles):
  /// W = 127, E = 30 + 20 + 31.5 + 22 + 48 = 151.5, C = 127 / 151.5 = 0.838284; μ_m = C · p̄_m;
  /// X² = Σ (W_m − n_m μ_m)² / (n_m μ_m (1 − μ_m)) = 25.818217; ρ = (X² − 4) / (250 − 5) = 0.089054;
  /// κ = 1/ρ − 1 = 10.229149. Inflated: μ = 0.670627, posterior Beta(κμ + 24, κ(1 − μ) + 36), mean
  /// over 0.8 = 0.549272, 95% interval 0.407697…0.694935.
  @Test func matchesTheModelWorkedByHand() throws {
    let calibration = try Calibration.fit(Self.team)
    #expect(abs(try #require(calibration.teamCoefficient) - 0.8382838283828383) < 1e-12)
    #expect(abs(calibration.priorStrength - 10.22914862057242) < 1e-9)
    let inflated = try Self.manager(calibration, "inflated")
    let interval = try #require(inflated.interval)
    #expect(abs(inflated.coefficient - 0.5492723552033865) < 1e-9)
    #expect(abs(interval.lowerBound - 0.407697317250091) < 1e-9)
    #expect(abs(interval.upperBound - 0.6949350743266726) < 1e-9)
    let anna = try Self.manager(calibration, "anna")
    #expect(abs(anna.coefficient - 0.9725345818144786) < 1e-9)
    #expect(abs(try #require(anna.interval).upperBound - 1.1731736856162653) < 1e-9)
    #expect(abs(anna.ownWeight - 50 / (50 + 10.22914862057242)) < 1e-12)
  }

  @Test func honestManagersAreNearOneWithOneInTheirInterval() throws {
    let honest = [
      Self.record("anna", closed: 50, at: 60, won: 30),
      Self.record("boris", closed: 40, at: 50, won: 21),
      Self.record("vera", closed: 45, at: 70, won: 31),
      Self.record("gleb", closed: 55, at: 40, won: 22),
    ]
    let calibration = try Calibration.fit(honest)
    for manager in calibration.managers {
      #expect((0.9...1.1).contains(manager.coefficient), "\(manager.owner): \(manager.coefficient)")
      #expect(try #require(manager.interval).contains(1), "\(manager.owner)")
    }
    // Their differences are within binomial noise: the strongest shrinkage the settings allow.
    #expect(calibration.priorFit == .upperBound)
    #expect(calibration.priorStrength == CalibrationSettings().strength.upperBound)
    // And the inflated manager stays below 1 even among honest peers of a homogeneous team.
    let withInflated = try Calibration.fit(Self.team)
    for owner in ["anna", "boris", "vera", "gleb"] {
      #expect(try Self.manager(withInflated, owner).coefficient > 0.85, "\(owner)")
    }
  }

  @Test func aManagerWithTwoClosedDealsIsPulledToTheTeam() throws {
    // Two deals stated at 50%, both won: his raw coefficient is 2.
    let newcomer = Self.record("newcomer", closed: 2, at: 50, won: 2)
    let calibration = try Calibration.fit(Self.team + [newcomer])
    let team = try #require(calibration.teamCoefficient)
    let manager = try Self.manager(calibration, "newcomer")
    #expect(manager.raw == 2)
    #expect(abs(manager.coefficient - team) < 0.25 * abs(2 - team))
    #expect(manager.ownWeight < 0.2)
    // Among honest peers (no real spread) he is all but the team's.
    let homogeneous = try Calibration.fit(Array(Self.team.prefix(4)) + [newcomer])
    let homogeneousTeam = try #require(homogeneous.teamCoefficient)
    #expect(abs(try Self.manager(homogeneous, "newcomer").coefficient - homogeneousTeam) < 0.05)
  }

  @Test func aLongRecordOutweighsTheTeam() throws {
    // The same rate (wins 40% at 80%) over ever more deals: the coefficient walks from the team's
    // toward his own 0.5, and his interval narrows.
    var previous: ManagerCalibration?
    for closed in [5, 50, 500, 5_000] {
      let calibration = try Calibration.fit(
        Array(Self.team.prefix(4)) + [Self.record("inflated", closed: closed, at: 80, won: closed * 2 / 5)])
      let manager = try Self.manager(calibration, "inflated")
      if let previous {
        #expect(manager.coefficient < previous.coefficient)
        #expect(manager.ownWeight > previous.ownWeight)
        // Not from 5 deals to 50: at 5 his deviation is within noise, the team looks homogeneous
        // and the prior is at its strongest (κ = 100), which makes that first interval narrow.
        if previous.closed >= 50 {
          let width = { (m: ManagerCalibration) in m.interval.map { $0.upperBound - $0.lowerBound } ?? 0 }
          #expect(width(manager) < width(previous))
        }
      }
      previous = manager
    }
    #expect(abs(try #require(previous).coefficient - 0.5) < 0.02)
  }

  @Test func aLoneManagerKeepsHisOwnRate() throws {
    // The team is he: the prior's mean is his own rate, so the posterior mean is his raw coefficient.
    let calibration = try Calibration.fit([Self.record("solo", closed: 30, at: 70, won: 12)])
    let solo = try Self.manager(calibration, "solo")
    let raw = try #require(solo.raw)
    #expect(calibration.priorFit == .tooFewToFit)
    #expect(abs(solo.coefficient - raw) < 1e-12)
    #expect(abs(solo.coefficient - 12.0 / 21) < 1e-12)
  }

  @Test func managersWhoPromisedNothingUseTheTeamAndAnEmptyTeamUsesOne() throws {
    let calibration = try Calibration.fit(
      Self.team + [Self.record("zero", closed: 4, at: 0, won: 1), Self.record("none", closed: 0, at: 0, won: 0)])
    let team = try #require(calibration.teamCoefficient)
    #expect(try Self.manager(calibration, "zero").raw == nil)
    #expect(calibration.coefficient(for: "zero") == team)
    #expect(calibration.coefficient(for: "none") == team)
    #expect(calibration.coefficient(for: "stranger") == team)
    #expect(calibration.coefficient(for: "inflated") == (try Self.manager(calibration, "inflated")).coefficient)
    let empty = try Calibration.fit([])
    #expect(empty.teamCoefficient == nil)
    #expect(empty.coefficient(for: "anyone") == 1)
  }

  @Test func recordsAreSummedFromDealsAndCheckedField() throws {
    let deals = [
      ClosedDealOutcome(owner: "a", probability: 80, won: true),
      ClosedDealOutcome(owner: "b", probability: 30, won: false),
      ClosedDealOutcome(owner: "a", probability: 60, won: false),
    ]
    #expect(
      try CalibrationRecord.of(deals) == [
        CalibrationRecord(owner: "a", closed: 2, won: 1, statedPercent: 140),
        CalibrationRecord(owner: "b", closed: 1, won: 0, statedPercent: 30),
      ])
    #expect(throws: InvalidField(field: "deals[1].probability", reason: "is 101; must be within 0…100")) {
      try CalibrationRecord.of([deals[0], ClosedDealOutcome(owner: "b", probability: 101, won: true)])
    }
    #expect(throws: InvalidField(field: "records[1].won", reason: "is 3; must be within 0…2 (the closed deals)")) {
      try Calibration.fit([Self.record("a", closed: 2, at: 50, won: 1), Self.record("b", closed: 2, at: 50, won: 3)])
    }
    #expect(throws: InvalidField(field: "records[0].statedPercent", reason: "is 250; must be within 0…200")) {
      try Calibration.fit([CalibrationRecord(owner: "a", closed: 2, won: 1, statedPercent: 250)])
    }
    #expect(throws: InvalidField(field: "records[0].closed", reason: "is \(Int.max); must be within 0…1000000000")) {
      try Calibration.fit([CalibrationRecord(owner: "a", closed: .max, won: 0, statedPercent: 0)])
    }
    // Two records of one owner count as one.
    let split = try Calibration.fit([
      Self.record("a", closed: 10, at: 50, won: 4), Self.record("a", closed: 10, at: 50, won: 6),
    ])
    #expect(split.managers.count == 1 && split.managers[0].closed == 20 && split.managers[0].won == 10)
  }

  /// A remembered fit is the fit of its own input: another team, or other settings, fit anew; a
  /// bad input is refused each time, not remembered.
  @Test func rememberedFitsAreTheFitsOfTheirInput() throws {
    let fresh = try Calibration.fit(Self.team)
    #expect(try CalibrationMemo.fit(Self.team) == fresh)
    #expect(try CalibrationMemo.fit(Self.team) == fresh)
    var other = Self.team
    other[0].won += 5
    #expect(try CalibrationMemo.fit(other) == (try Calibration.fit(other)) && (try CalibrationMemo.fit(other)) != fresh)
    let narrow = CalibrationSettings(level: 0.8)
    #expect(try CalibrationMemo.fit(Self.team, settings: narrow) == (try Calibration.fit(Self.team, settings: narrow)))
    for _ in 0..<2 {
      #expect(throws: InvalidField.self) {
        try CalibrationMemo.fit([CalibrationRecord(owner: "a", closed: 2, won: 1, statedPercent: 250)])
      }
    }
    // Past its limit it starts again and still answers.
    for extra in 0...CalibrationMemo.limit {
      _ = try CalibrationMemo.fit(Self.team + [Self.record("n\(extra)", closed: 3, at: 50, won: 1)])
    }
    #expect(try CalibrationMemo.fit(Self.team) == fresh)
  }
}
