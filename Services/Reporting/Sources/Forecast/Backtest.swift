import CRMDomain
import Foundation

/// A month of the backtest: [start, end).
struct BacktestPeriod: Sendable, Equatable {
  var start: Date
  var end: Date

  /// Consecutive months from their starts: n starts give n − 1 months, the last start closing the
  /// month before it (1 Jan, 1 Feb, 1 Mar → January and February).
  static func consecutive(_ starts: [Date]) -> [BacktestPeriod] {
    zip(starts, starts.dropFirst()).map { BacktestPeriod(start: $0, end: $1) }
  }
}

/// The raw and the corrected forecast of one month "made at its start" against what was won.
///
/// At the month's start s, with only what was recorded before s (each deal's version in force just
/// before s; nothing later is read):
/// - coefficients come from the deals closed before s (`Calibration`, stated probability = the last
///   one stated while the deal was open);
/// - the forecast covers the deals open at s whose expected close (as then recorded) is before the
///   month's end — in the month, or overdue and still open, which a sales team expects now; a deal
///   without an expected close is forecast for no month;
/// - what was won: those same deals won during the month (a won version valid from within
///   [start, end)), at the amount and currency they were won at, under the owner they had at s.
///
/// Why those deals and not all won in the month: the probabilities speak of the deals they were
/// stated on. Deals opened after s, or expected later and won early, say how well the team finds
/// and speeds up business, not how well it estimates; counting them would blur the one question the
/// correction answers. A deal that slips past the month counts as not won in it, for raw and
/// corrected alike.
///
/// Errors are forecast − won in minor units (positive: promised more than was won; the magnitude is
/// the absolute error) and that over what was won (nil when nothing was).
struct BacktestRow: Sendable, Equatable {
  /// nil: the team's row.
  var owner: String?
  var currency: String
  var forecastDeals: Int
  var rawMinor: Int64
  var correctedMinor: Int64
  var wonDeals: Int
  var wonMinor: Int64
  /// The owner's coefficient at the month's start; nil on the team's row.
  var coefficient: Double?

  /// Both terms are non-negative Int64s, so the difference cannot overflow.
  var rawError: Int64 { rawMinor - wonMinor }
  var correctedError: Int64 { correctedMinor - wonMinor }
  var rawRelativeError: Double? { wonMinor > 0 ? Double(rawError) / Double(wonMinor) : nil }
  var correctedRelativeError: Double? { wonMinor > 0 ? Double(correctedError) / Double(wonMinor) : nil }
}

struct BacktestMonth: Sendable, Equatable {
  var period: BacktestPeriod
  /// false when the month had not ended at `now`: what was won is not final.
  var complete: Bool
  /// The calibration the month's corrected forecast used.
  var closedBefore: Int
  var teamCoefficient: Double?
  var priorStrength: Double
  /// Managers' rows by owner then currency, then the team's by currency.
  var managers: [BacktestRow]
  var team: [BacktestRow]
}

/// Per currency, over the complete months: did the correction help?
struct BacktestSummary: Sendable, Equatable {
  var currency: String
  var months: Int
  /// Mean |forecast − won| per month, minor units.
  var rawMeanAbsoluteError: Double
  var correctedMeanAbsoluteError: Double
  /// Months the corrected forecast was strictly closer to what was won, and strictly farther.
  var correctedCloser: Int
  var correctedFarther: Int
}

struct Backtest: Sendable, Equatable {
  var months: [BacktestMonth]
  var summary: [BacktestSummary]

  /// Histories are checked first (a bad one is refused naming it, nothing computed); a month
  /// whose start is not before its end is refused too.
  static func run(
    _ histories: [DealHistory], months periods: [BacktestPeriod], now: Date,
    settings: CalibrationSettings = CalibrationSettings()
  ) throws -> Backtest {
    var checked: [DealHistory] = []
    checked.reserveCapacity(histories.count)
    for (i, history) in histories.enumerated() { checked.append(try history.checked("histories[\(i)]")) }
    for (i, period) in periods.enumerated() where !(period.start < period.end) {
      throw InvalidField(field: "months[\(i)]", reason: "starts at \(period.start), not before its end \(period.end)")
    }
    let months = try periods.map { try month($0, checked, now: now, settings: settings) }
    return Backtest(months: months, summary: summarize(months.filter(\.complete)))
  }

  private static func month(
    _ period: BacktestPeriod, _ histories: [DealHistory], now: Date, settings: CalibrationSettings
  ) throws -> BacktestMonth {
    var outcomes: [ClosedDealOutcome] = []
    var pipeline: [OpenPipeline] = []
    var won = Actuals()
    for history in histories {
      guard let index = history.indexBefore(period.start) else { continue }
      let state = history.versions[index]
      guard state.status == .open else {
        if let outcome = history.outcome(at: index) { outcomes.append(outcome) }
        continue
      }
      guard let expected = state.expectedClose, expected < period.end else { continue }
      pipeline.append(
        OpenPipeline(
          owner: state.owner, currency: state.currency, probability: state.probability,
          amountMinor: state.amountMinor))
      // Versions after `index` are valid from s on; the first win before the month's end counts.
      if let win = history.versions[(index + 1)...].prefix(while: { $0.validFrom < period.end })
        .first(where: { $0.status == .won })
      {
        try won.add(owner: state.owner, currency: win.currency, amount: win.amountMinor)
      }
    }
    let calibration = try Calibration.fit(try CalibrationRecord.of(outcomes), settings: settings)
    let coefficients = calibration.coefficients
    let fallback = calibration.teamCoefficient ?? 1
    let forecast = try WeightedForecast.make(pipeline) { coefficients[$0] ?? fallback }
    return BacktestMonth(
      period: period, complete: period.end <= now, closedBefore: calibration.closed,
      teamCoefficient: calibration.teamCoefficient, priorStrength: calibration.priorStrength,
      managers: try rows(forecast.managers, won.managers, coefficient: { coefficients[$0] ?? fallback }),
      team: try rows(forecast.team, won.team, coefficient: nil))
  }

  /// Forecast rows joined with what was won, by owner and currency (a deal won in another currency
  /// than forecast adds a row of its own).
  private static func rows(
    _ forecast: [ForecastRow], _ won: [Actuals.Key: Actuals.Sum], coefficient: ((String) -> Double)?
  ) throws -> [BacktestRow] {
    var rows: [Actuals.Key: BacktestRow] = [:]
    for row in forecast {
      rows[Actuals.Key(owner: row.owner, currency: row.currency)] = BacktestRow(
        owner: row.owner, currency: row.currency, forecastDeals: row.deals, rawMinor: row.rawMinor,
        correctedMinor: row.correctedMinor, wonDeals: 0, wonMinor: 0, coefficient: row.coefficient)
    }
    for (key, sum) in won {
      var row =
        rows[key]
        ?? BacktestRow(
          owner: key.owner, currency: key.currency, forecastDeals: 0, rawMinor: 0, correctedMinor: 0, wonDeals: 0,
          wonMinor: 0, coefficient: key.owner.flatMap { owner in coefficient.map { $0(owner) } })
      guard let amount = Int64(exactly: sum.amount) else {
        throw ForecastOverflow(owner: key.owner, currency: key.currency)
      }
      row.wonDeals = sum.deals
      row.wonMinor = amount
      rows[key] = row
    }
    return rows.values.sorted { ($0.owner ?? "", $0.currency) < ($1.owner ?? "", $1.currency) }
  }

  private static func summarize(_ months: [BacktestMonth]) -> [BacktestSummary] {
    var byCurrency: [String: (months: Int, raw: Double, corrected: Double, closer: Int, farther: Int)] = [:]
    for row in months.flatMap(\.team) {
      var sums = byCurrency[row.currency] ?? (0, 0, 0, 0, 0)
      // In Double: a sum of many errors near Int64.max loses only precision, never overflows.
      let raw = Double(row.rawError.magnitude)
      let corrected = Double(row.correctedError.magnitude)
      sums.months += 1
      sums.raw += raw
      sums.corrected += corrected
      sums.closer += corrected < raw ? 1 : 0
      sums.farther += corrected > raw ? 1 : 0
      byCurrency[row.currency] = sums
    }
    return byCurrency.sorted { $0.key < $1.key }.map { currency, sums in
      BacktestSummary(
        currency: currency, months: sums.months, rawMeanAbsoluteError: sums.raw / Double(sums.months),
        correctedMeanAbsoluteError: sums.corrected / Double(sums.months), correctedCloser: sums.closer,
        correctedFarther: sums.farther)
    }
  }
}

/// What was won in a month, per owner × currency and per currency, in exact sums.
private struct Actuals {
  struct Key: Hashable {
    var owner: String?
    var currency: String
  }

  struct Sum {
    var deals = 0
    var amount: Int128 = 0
  }

  var managers: [Key: Sum] = [:]
  var team: [Key: Sum] = [:]

  mutating func add(owner: String, currency: String, amount: Int64) throws(ForecastOverflow) {
    let mine = Key(owner: owner, currency: currency)
    let all = Key(owner: nil, currency: currency)
    managers[mine] = try Self.adding(amount, to: managers[mine], mine)
    team[all] = try Self.adding(amount, to: team[all], all)
  }

  private static func adding(_ amount: Int64, to sum: Sum?, _ key: Key) throws(ForecastOverflow) -> Sum {
    var sum = sum ?? Sum()
    let (total, overflow) = sum.amount.addingReportingOverflow(Int128(amount))
    if overflow { throw ForecastOverflow(owner: key.owner, currency: key.currency) }
    sum.amount = total
    sum.deals += 1
    return sum
  }
}
