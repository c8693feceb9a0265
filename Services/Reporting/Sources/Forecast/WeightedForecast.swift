import CRMDomain

/// Open deals of one owner in one currency at one stated probability: a single deal, or the sum
/// of several (what `GROUP BY owner, currency, probability` gives). The forecast is linear in
/// each probability, so both give the same figures.
struct OpenPipeline: Sendable, Equatable {
  var owner: String
  var currency: String
  /// 0–100: the owner's estimate where given, else the stage's default.
  var probability: Int
  /// Non-negative minor units (Σ over the deals when several).
  var amountMinor: Int64
  var deals = 1
}

/// One row of the forecast: a manager's (or the team's) open deals in one currency.
struct ForecastRow: Sendable, Equatable {
  /// nil: the team's row.
  var owner: String?
  var currency: String
  var deals: Int
  /// Σ amount, unweighted.
  var amountMinor: Int64
  /// Σ amount × p.
  var rawMinor: Int64
  /// Σ amount × min(1, p × coefficient).
  var correctedMinor: Int64
  /// The owner's coefficient applied; nil on the team's row (each manager's own was applied).
  var coefficient: Double?
}

/// A total (forecast, pipeline or won) that a signed 64-bit count of minor units cannot hold:
/// refused rather than wrapped, naming the row.
struct ForecastOverflow: DomainError, Equatable {
  var owner: String?
  var currency: String
  var status: FailureStatus { .failedPrecondition }
  var description: String {
    "a total of \(owner.map { "manager \(Text.quoted($0))" } ?? "the team") in \(Text.quoted(currency)) "
      + "exceeds \(Int64.max) minor units: a deal's amount is implausible"
  }
}

/// The weighted pipeline per manager × currency, raw and corrected by each manager's calibration,
/// with the team's row per currency.
///
/// Raw = Σ amount × p; corrected = Σ amount × min(1, p × coefficient). The cap: a deal brings at
/// most its amount, so a manager whose coefficient is 1.5 and who states 80% counts 100% of the
/// deal, not 120% (without it an under-confident manager's deals would forecast more money than
/// they can bring). So corrected is not exactly coefficient × raw.
///
/// Arithmetic is in integers: amount × p exactly (128 bits), amount × the factor min(1, p × c)
/// rounded to 1e-12 (far finer than the coefficient is known), and each row's total rounded once,
/// halves up, to a whole minor unit. The team's row is rounded from the exact sum, so it may differ
/// from the sum of the rounded managers' rows by less than one minor unit per manager.
struct WeightedForecast: Sendable, Equatable {
  /// By owner, then currency.
  var managers: [ForecastRow]
  /// By currency.
  var team: [ForecastRow]

  /// `coefficient`: the calibration coefficient for an owner (e.g. `Calibration.coefficient(for:)`);
  /// it must be finite and non-negative. Throws `InvalidField` or `ForecastOverflow`.
  static func make(
    _ pipeline: [OpenPipeline], coefficient: (String) -> Double
  ) throws -> WeightedForecast {
    var managers: [Key: Sums] = [:]
    var team: [String: Sums] = [:]
    var coefficients: [String: Double] = [:]
    for (i, item) in pipeline.enumerated() {
      try check(item, index: i)
      let c = coefficients[item.owner] ?? coefficient(item.owner)
      guard c.isFinite, c >= 0 else {
        throw InvalidField(field: "coefficient[\(item.owner)]", reason: "is \(c); must be finite and non-negative")
      }
      coefficients[item.owner] = c
      let sums = Sums(item, coefficient: c)
      let key = Key(owner: item.owner, currency: item.currency)
      managers[key] = try (managers[key] ?? Sums()).adding(sums, key.owner, key.currency)
      team[item.currency] = try (team[item.currency] ?? Sums()).adding(sums, nil, item.currency)
    }
    return WeightedForecast(
      managers: try managers.sorted { ($0.key.owner, $0.key.currency) < ($1.key.owner, $1.key.currency) }.map {
        try $0.value.row(owner: $0.key.owner, currency: $0.key.currency, coefficient: coefficients[$0.key.owner])
      },
      team: try team.sorted { $0.key < $1.key }.map {
        try $0.value.row(owner: nil, currency: $0.key, coefficient: nil)
      })
  }

  /// The field is named only when it is wrong (a forecast checks thousands of rows).
  private static func check(_ item: OpenPipeline, index: Int) throws(InvalidField) {
    let field = { "pipeline[\(index)]" }
    if item.owner.isEmpty { throw InvalidField(field: "\(field()).owner", reason: "is empty") }
    if item.currency.isEmpty { throw InvalidField(field: "\(field()).currency", reason: "is empty") }
    guard (0...100).contains(item.probability) else {
      throw InvalidField(field: "\(field()).probability", reason: "is \(item.probability); must be within 0…100")
    }
    guard item.amountMinor >= 0 else {
      throw InvalidField(field: "\(field()).amountMinor", reason: "is negative (\(item.amountMinor))")
    }
    guard item.deals >= 0 else {
      throw InvalidField(field: "\(field()).deals", reason: "is negative (\(item.deals))")
    }
  }

  private struct Key: Hashable {
    var owner: String
    var currency: String
  }

  /// Exact sums: amount × percent (units of 1/100) and amount × factor (units of 1e-12).
  private struct Sums {
    static let factorScale: Int128 = 1_000_000_000_000
    var deals: Int128 = 0
    var amount: Int128 = 0
    var rawHundredths: Int128 = 0
    var correctedScaled: Int128 = 0

    init() {}

    init(_ item: OpenPipeline, coefficient: Double) {
      let amount = Int128(item.amountMinor)
      // p × c as a fraction, scaled by 1e12: p/100 × c × 1e12 = p × c × 1e10, capped at 1.
      let scaled = Double(item.probability) * coefficient * 1e10
      let factor = scaled >= Double(Self.factorScale) ? Self.factorScale : Int128(scaled.rounded())
      deals = Int128(item.deals)
      self.amount = amount
      rawHundredths = amount * Int128(item.probability)
      correctedScaled = amount * factor
    }

    func adding(_ other: Sums, _ owner: String?, _ currency: String) throws(ForecastOverflow) -> Sums {
      func add(_ a: Int128, _ b: Int128) throws(ForecastOverflow) -> Int128 {
        let (total, overflow) = a.addingReportingOverflow(b)
        if overflow { throw ForecastOverflow(owner: owner, currency: currency) }
        return total
      }
      var sum = Sums()
      sum.deals = try add(deals, other.deals)
      sum.amount = try add(amount, other.amount)
      sum.rawHundredths = try add(rawHundredths, other.rawHundredths)
      sum.correctedScaled = try add(correctedScaled, other.correctedScaled)
      return sum
    }

    func row(owner: String?, currency: String, coefficient: Double?) throws(ForecastOverflow) -> ForecastRow {
      func minor(_ value: Int128, per scale: Int128) throws(ForecastOverflow) -> Int64 {
        // Non-negative, so adding half the scale rounds halves up.
        let (rounded, overflow) = value.addingReportingOverflow(scale / 2)
        guard !overflow, let result = Int64(exactly: rounded / scale) else {
          throw ForecastOverflow(owner: owner, currency: currency)
        }
        return result
      }
      guard let deals = Int(exactly: deals) else { throw ForecastOverflow(owner: owner, currency: currency) }
      return ForecastRow(
        owner: owner, currency: currency, deals: deals, amountMinor: try minor(amount, per: 1),
        rawMinor: try minor(rawHundredths, per: 100), correctedMinor: try minor(correctedScaled, per: Self.factorScale),
        coefficient: coefficient)
    }
  }
}
