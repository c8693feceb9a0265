import CRMContracts
import Foundation

/// The weighted pipeline raw and corrected per manager and currency, each manager's calibration
/// coefficient with its interval (a bar around 1), and the backtest by month.
struct ForecastSection: Sendable, Hashable {
  struct Row: Sendable, Hashable {
    var owner: String
    var who: String
    var team: Bool
    var currency: String
    var deals: String
    var amount: String
    var raw: String
    var corrected: String
    var coefficient: String
  }

  struct Calibration: Sendable, Hashable {
    var owner: String
    var who: String
    var team: Bool
    var closed: String
    var won: String
    var promised: String
    var raw: String
    var coefficient: String
    var interval: String
    var ownWeight: String
    var bar: ChartBar
  }

  struct Month: Sendable, Hashable {
    var month: String
    var complete: Bool
    var currency: String
    var deals: String
    var raw: String
    var corrected: String
    var won: String
    var rawError: String
    var correctedError: String
  }

  struct Summary: Sendable, Hashable {
    var currency: String
    var months: String
    var rawError: String
    var correctedError: String
    var closer: String
    var farther: String
    var helps: Bool
  }

  var rows: [Row]
  var calibrations: [Calibration]
  var prior: String
  var months: [Month]
  var summary: [Summary]
  var timeZone: String
}

extension Dashboard {
  static let backtestMonths: Int32 = 12
  /// The coefficient's bar runs from 0 to this, 1 marked.
  static let coefficientScale = 2.0

  func forecast(_ context: DashboardContext) async throws -> ForecastSection {
    let pipelineID = context.filters.pipelineID ?? ""
    async let backtest = reports.call(Method.GetForecastBacktest.descriptor, as: context.person) { service, server in
      try await service.getForecastBacktest(
        request: .with {
          $0.months = Self.backtestMonths
          $0.pipelineID = pipelineID
        }, context: server)
    }
    let reply = try await reports.call(Method.GetForecast.descriptor, as: context.person) { service, server in
      try await service.getForecast(request: .with { $0.pipelineID = pipelineID }, context: server)
    }
    let rows = reply.rows.filter { context.shows($0.ownerID, team: $0.team) }.map { row in
      ForecastSection.Row(
        owner: DashboardContext.ownerKey(row.ownerID, team: row.team), who: context.who(row.ownerID, team: row.team),
        team: row.team, currency: row.currency, deals: RussianFormat.integer(row.deals),
        amount: RussianFormat.money(minor: row.amountMinor, currency: row.currency),
        raw: RussianFormat.money(minor: row.rawMinor, currency: row.currency),
        corrected: RussianFormat.money(minor: row.correctedMinor, currency: row.currency),
        coefficient: row.team ? "—" : RussianFormat.decimal(row.coefficient, digits: 2))
    }
    let calibrations = reply.calibrations.filter { context.shows($0.ownerID, team: $0.team) }.map { entry in
      let interval = entry.ownRecord || entry.team
      return ForecastSection.Calibration(
        owner: DashboardContext.ownerKey(entry.ownerID, team: entry.team),
        who: context.who(entry.ownerID, team: entry.team), team: entry.team,
        closed: RussianFormat.integer(entry.closed),
        won: RussianFormat.integer(entry.won), promised: RussianFormat.decimal(entry.promisedWins, digits: 1),
        raw: entry.ownRecord ? RussianFormat.decimal(entry.rawCoefficient, digits: 2) : "—",
        coefficient: RussianFormat.decimal(entry.coefficient, digits: 2),
        interval: interval
          ? RussianFormat.decimal(entry.lower, digits: 2) + "–" + RussianFormat.decimal(entry.upper, digits: 2) : "—",
        ownWeight: entry.team ? "—" : RussianFormat.percent(entry.ownWeight),
        bar: ChartBar(
          entry.coefficient, interval: interval ? (entry.lower, entry.upper) : nil, scale: Self.coefficientScale,
          mark: 1, label: "коэффициент \(RussianFormat.decimal(entry.coefficient, digits: 2))"))
    }
    let test = try await backtest
    var months: [ForecastSection.Month] = []
    for month in test.months {
      for row in month.rows where row.team {
        months.append(
          .init(
            month: month.hasStart ? RussianFormat.month(month.start.date, in: context.zone) : month.month,
            complete: month.complete, currency: row.currency, deals: RussianFormat.integer(row.forecastDeals),
            raw: RussianFormat.money(minor: row.rawMinor, currency: row.currency),
            corrected: RussianFormat.money(minor: row.correctedMinor, currency: row.currency),
            won: RussianFormat.money(minor: row.wonMinor, currency: row.currency),
            rawError: RussianFormat.money(minor: row.rawErrorMinor, currency: row.currency),
            correctedError: RussianFormat.money(minor: row.correctedErrorMinor, currency: row.currency)))
      }
    }
    return ForecastSection(
      rows: rows, calibrations: calibrations,
      prior: "вес командного априорного распределения: \(RussianFormat.decimal(reply.priorStrength, digits: 1)) "
        + "закрытых сделок (\(Self.priorFit(reply.priorFit)))",
      months: months,
      summary: test.summary.map {
        .init(
          currency: $0.currency, months: RussianFormat.integer($0.months),
          rawError: RussianFormat.money(roundedMinor: $0.rawMeanAbsoluteErrorMinor, currency: $0.currency),
          correctedError: RussianFormat.money(roundedMinor: $0.correctedMeanAbsoluteErrorMinor, currency: $0.currency),
          closer: RussianFormat.integer($0.correctedCloser), farther: RussianFormat.integer($0.correctedFarther),
          helps: $0.correctionHelps)
      }, timeZone: test.timeZone)
  }

  static func priorFit(_ fit: Crm_Reporting_V1_PriorFit) -> String {
    switch fit {
    case .fitted: "оценён по разбросу менеджеров"
    case .upperBound: "менеджеры различаются не больше случайного: сильнейшее сжатие"
    case .lowerBound: "менеджеры сильно различаются: слабейшее сжатие"
    case .tooFewToFit: "слишком мало закрытых сделок для оценки"
    default: "не задан"
    }
  }
}
