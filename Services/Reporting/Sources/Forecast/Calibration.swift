import CRMDomain

/// Each manager's calibration coefficient — what he won against what his stated probabilities
/// promised — shrunk toward the team's when his record is short (seed 002).
///
/// The model (empirical Bayes, beta-binomial):
/// - Manager m closed n_m deals, won W_m, and his last stated probabilities on them (fractions)
///   promise E_m = Σ p_i wins. Raw coefficient c_m = W_m / E_m: 1 is honest, 0.5 wins half of what
///   he promises. The team's C = ΣW / ΣE, pooled.
/// - His win rate θ_m: W_m ~ Binomial(n_m, θ_m). (His deals' different p only make the true
///   variance smaller than the binomial's, so the model errs on the cautious side.) The prior is
///   θ_m ~ Beta(κ μ_m, κ (1 − μ_m)) with mean μ_m = C · p̄_m, the rate the team's calibration
///   predicts for his mean stated probability p̄_m = E_m / n_m (kept within 0.005…0.995), and
///   strength κ: the prior weighs as much as κ closed deals.
/// - κ by moments on the team: with ρ = 1 / (κ + 1), E[(W_m − n_m μ_m)² / (n_m μ_m (1 − μ_m))] =
///   1 + (n_m − 1) ρ, so over M managers and N deals Pearson's X² ≈ (M − 1) + ρ (N − M) (one
///   degree of freedom spent on C), ρ̂ = (X² − (M − 1)) / (N − M), κ = 1/ρ̂ − 1. Guards: when the
///   managers differ no more than binomial noise makes them (ρ̂ ≤ 0), κ is the upper bound of
///   `CalibrationSettings.strength` (strong but finite shrinkage); it is clamped into that range
///   otherwise; with fewer than two managers, or no more deals than managers, nothing can be
///   fitted and κ is the lower bound (the team is hardly more than the manager himself).
/// - Posterior θ_m ~ Beta(κ μ_m + W_m, κ (1 − μ_m) + n_m − W_m). Corrected coefficient =
///   posterior mean / p̄_m = (κ μ_m + W_m) / ((κ + n_m) p̄_m); its interval is the posterior's
///   equal-tailed quantiles over p̄_m. With few closed deals it stays near C (n_m → 0 gives
///   μ_m / p̄_m = C), with many near his own W_m / E_m.
/// A manager without a closed deal at a stated probability above 0 has no coefficient of his own:
/// his forecast uses the team's, and without any such deal in the team, 1 (no correction).
struct Calibration: Sendable, Equatable {
  /// How the prior's strength κ was set.
  enum PriorFit: String, Sendable, Equatable {
    /// The moment estimate, within the settings' range.
    case fitted
    /// The managers differ no more than chance makes them, or the estimate was above the range.
    case upperBound
    /// The estimate was below the range: the managers differ a lot.
    case lowerBound
    /// Fewer than two managers with a record, or no more deals than managers: nothing to fit.
    case tooFewToFit
  }

  var level: Double
  var closed: Int
  var won: Int
  var promisedWins: Double
  /// C = ΣW / ΣE; nil when the team's closed deals promised nothing.
  var teamCoefficient: Double?
  /// From the Jeffreys posterior Beta(W + ½, N − W + ½) of the team's win rate, over its mean p̄.
  var teamInterval: ClosedRange<Double>?
  /// κ: the prior's weight in closed deals.
  var priorStrength: Double
  var priorFit: PriorFit
  /// By owner.
  var managers: [ManagerCalibration]

  /// The coefficient a forecast applies to an owner's deals: his own (shrunk), else the team's,
  /// else 1.
  func coefficient(for owner: String) -> Double {
    if let own = managers.first(where: { $0.owner == owner }), own.raw != nil { return own.coefficient }
    return teamCoefficient ?? 1
  }

  /// Coefficients by owner, for many look-ups.
  var coefficients: [String: Double] {
    Dictionary(managers.filter { $0.raw != nil }.map { ($0.owner, $0.coefficient) }, uniquingKeysWith: { a, _ in a })
  }
}

/// One manager's calibration.
struct ManagerCalibration: Sendable, Equatable {
  var owner: String
  var closed: Int
  var won: Int
  /// E_m = Σ stated probability (fractions) over his closed deals.
  var promisedWins: Double
  /// W_m / E_m; nil when his closed deals promised nothing.
  var raw: Double?
  /// The posterior mean's coefficient; the team's (or 1) when `raw` is nil.
  var coefficient: Double
  /// The posterior's equal-tailed interval at the calibration's level; nil when `raw` is nil.
  var interval: ClosedRange<Double>?
  /// n_m / (κ + n_m): how much of the estimate is his own record (the rest is the team's).
  var ownWeight: Double
}

/// The calibration's knobs.
struct CalibrationSettings: Sendable, Hashable {
  /// The intervals' coverage (kept within 0.5…0.999).
  var level = 0.95
  /// The range κ is kept in (its bounds at least 0.1). Below 2 a manager with one lucky deal
  /// would be far from the team; above 100 a manager's own 100 closed deals would count for less
  /// than half.
  var strength: ClosedRange<Double> = 2...100
  /// The range a prior mean is kept in: a Beta prior needs a mean strictly between 0 and 1.
  var priorMean: ClosedRange<Double> = 0.005...0.995
}

extension Calibration {
  /// Fits the team prior and each manager's posterior. Records are checked (a bad one is refused
  /// naming it); two records of one owner are summed.
  static func fit(
    _ input: [CalibrationRecord], settings: CalibrationSettings = CalibrationSettings()
  ) throws(InvalidField) -> Calibration {
    var byOwner: [String: CalibrationRecord] = [:]
    for (i, record) in input.enumerated() {
      let record = try record.checked("records[\(i)]")
      if var seen = byOwner[record.owner] {
        seen.closed += record.closed
        seen.won += record.won
        seen.statedPercent += record.statedPercent
        byOwner[record.owner] = seen
      } else {
        byOwner[record.owner] = record
      }
    }
    let records = byOwner.values.sorted { $0.owner < $1.owner }
    let level = min(max(settings.level, 0.5), 0.999)
    let closed = records.reduce(0) { $0 + $1.closed }
    let won = records.reduce(0) { $0 + $1.won }
    let promised = records.reduce(0) { $0 + $1.promisedWins }
    let team = promised > 0 ? Double(won) / promised : nil
    var teamInterval: ClosedRange<Double>?
    if team != nil, let posterior = BetaDistribution(alpha: Double(won) + 0.5, beta: Double(closed - won) + 0.5) {
      let rate = posterior.interval(level: level)
      let meanStated = promised / Double(closed)
      teamInterval = rate.lowerBound / meanStated...rate.upperBound / meanStated
    }
    let informative = records.filter { $0.promisedWins > 0 }
    let priorMean = { (record: CalibrationRecord) -> Double in
      min(max((team ?? 1) * record.meanStated, settings.priorMean.lowerBound), settings.priorMean.upperBound)
    }
    let range = max(settings.strength.lowerBound, 0.1)...max(settings.strength.upperBound, 0.1)
    let (strength, fit) = priorStrength(informative, priorMean: priorMean, range: range)
    let managers = records.map { record -> ManagerCalibration in
      let n = Double(record.closed)
      guard record.promisedWins > 0, team != nil else {
        return ManagerCalibration(
          owner: record.owner, closed: record.closed, won: record.won, promisedWins: record.promisedWins,
          raw: nil, coefficient: team ?? 1, interval: nil, ownWeight: 0)
      }
      let mean = priorMean(record)
      let stated = record.meanStated
      let posterior = BetaDistribution(
        alpha: strength * mean + Double(record.won), beta: strength * (1 - mean) + Double(record.closed - record.won))
      let rate = posterior?.interval(level: level)
      return ManagerCalibration(
        owner: record.owner, closed: record.closed, won: record.won, promisedWins: record.promisedWins,
        raw: Double(record.won) / record.promisedWins,
        coefficient: (posterior?.mean ?? mean) / stated,
        interval: rate.map { $0.lowerBound / stated...$0.upperBound / stated },
        ownWeight: n / (strength + n))
    }
    return Calibration(
      level: level, closed: closed, won: won, promisedWins: promised, teamCoefficient: team,
      teamInterval: teamInterval, priorStrength: strength, priorFit: fit, managers: managers)
  }

  /// κ by moments (see the type's comment), within `range`.
  private static func priorStrength(
    _ records: [CalibrationRecord], priorMean: (CalibrationRecord) -> Double, range: ClosedRange<Double>
  ) -> (Double, PriorFit) {
    let managers = Double(records.count)
    let deals = Double(records.reduce(0) { $0 + $1.closed })
    guard managers >= 2, deals > managers else { return (range.lowerBound, .tooFewToFit) }
    let pearson = records.reduce(0.0) { sum, record in
      let n = Double(record.closed)
      let mean = priorMean(record)
      let residual = Double(record.won) - n * mean
      return sum + residual * residual / (n * mean * (1 - mean))
    }
    let rho = (pearson - (managers - 1)) / (deals - managers)
    guard rho > 0 else { return (range.upperBound, .upperBound) }
    let kappa = 1 / rho - 1
    if kappa > range.upperBound { return (range.upperBound, .upperBound) }
    if kappa < range.lowerBound { return (range.lowerBound, .lowerBound) }
    return (kappa, .fitted)
  }
}
