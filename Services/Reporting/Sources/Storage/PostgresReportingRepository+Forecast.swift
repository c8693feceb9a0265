import CRMContracts
import CRMDatabase
import Foundation
import PostgresNIO
import SwiftProtobuf

/// The forecast and its backtest. The database sums (open deals per owner × currency ×
/// probability, closed deals per owner: kept in `forecast_open` and `forecast_closed`, see
/// `DealAggregates`); the pure code (`Calibration`, `WeightedForecast`,
/// `Backtest`) does the statistics on those few rows.
extension PostgresReportingRepository {
  func forecast(_ query: ForecastQuery) async throws -> Crm_Reporting_V1_GetForecastReply {
    let calibration = try CalibrationMemo.fit(try await calibrationRecords(pipelineID: query.pipelineID))
    let coefficients = calibration.coefficients
    let fallback = calibration.teamCoefficient ?? 1
    // A deal without an amount (no currency) brings no money: it is left out of the rows. One
    // pipeline's rows are one per owner × currency × probability already: read as they are
    // (summing them again took 2.5 ms of the 3 at 1M deals); every pipeline's are summed.
    let rows =
      if let pipelineID = query.pipelineID {
        try await client.query(
          """
          SELECT owner_id, currency, probability, deals, amount_minor::text
          FROM forecast_open
          WHERE pipeline_id = \(pipelineID) AND currency <> '' AND deals > 0
            AND (\(query.currency)::text IS NULL OR currency = \(query.currency)::text)
          """, logger: logger)
      } else {
        try await client.query(
          """
          SELECT owner_id, currency, probability, sum(deals)::bigint, sum(amount_minor)::text
          FROM forecast_open
          WHERE currency <> '' AND (\(query.currency)::text IS NULL OR currency = \(query.currency)::text)
          GROUP BY owner_id, currency, probability HAVING sum(deals) > 0
          """, logger: logger)
      }
    var pipeline: [OpenPipeline] = []
    for try await (owner, currency, probability, deals, amount) in rows.decode(
      (String, String, Int32, Int, String).self)
    {
      // Σ bigint is numeric: beyond Int64 it is refused, not wrapped.
      guard let amount = Int64(amount) else { throw ForecastOverflow(owner: owner, currency: currency) }
      pipeline.append(
        OpenPipeline(
          owner: owner, currency: currency, probability: Int(probability), amountMinor: amount, deals: deals))
    }
    let forecast = try WeightedForecast.make(pipeline) { coefficients[$0] ?? fallback }
    var reply = Crm_Reporting_V1_GetForecastReply()
    for team in forecast.team {
      reply.rows.append(team.message)
      for row in forecast.managers where row.currency == team.currency && query.visibility.sees(row.owner ?? "") {
        reply.rows.append(row.message)
      }
    }
    reply.calibrations = [calibration.teamMessage]
    reply.calibrations += calibration.managers.filter { query.visibility.sees($0.owner) }.map(\.message)
    // Managers with open deals and no closed one: the team's coefficient applies to them.
    let calibrated = Set(calibration.managers.map(\.owner))
    for owner in Set(forecast.managers.compactMap(\.owner)).subtracting(calibrated)
    where query.visibility.sees(owner) {
      reply.calibrations.append(
        ManagerCalibration(
          owner: owner, closed: 0, won: 0, promisedWins: 0, raw: nil, coefficient: fallback, interval: nil,
          ownWeight: 0
        ).message)
    }
    reply.calibrations[1...].sort { $0.ownerID < $1.ownerID }
    reply.level = calibration.level
    reply.priorStrength = calibration.priorStrength
    reply.priorFit = calibration.priorFit.message
    return reply
  }

  /// Closed deals per owner: count, won, Σ the last probability stated while open (`forecast_closed`).
  private func calibrationRecords(pipelineID: String?) async throws -> [CalibrationRecord] {
    let rows = try await client.query(
      """
      SELECT owner_id, sum(closed)::bigint, sum(won)::bigint, sum(stated_percent)::bigint
      FROM forecast_closed
      WHERE \(pipelineID)::text IS NULL OR pipeline_id = \(pipelineID)::text
      GROUP BY owner_id HAVING sum(closed) > 0
      """, logger: logger)
    var records: [CalibrationRecord] = []
    for try await (owner, closed, won, stated) in rows.decode((String, Int, Int, Int64).self) {
      records.append(CalibrationRecord(owner: owner, closed: closed, won: won, statedPercent: stated))
    }
    return records
  }

  func forecastBacktest(_ query: ForecastBacktestQuery) async throws -> Crm_Reporting_V1_GetForecastBacktestReply {
    let histories = try await dealHistories(query)
    let backtest = try Backtest.run(histories, months: query.months, now: query.now)
    let zone = query.settings.zone
    var reply = Crm_Reporting_V1_GetForecastBacktestReply()
    reply.timeZone = query.settings.zoneName
    let shown = { (currency: String) in
      currency != ForecastMoney.none && (query.currency == nil || query.currency == currency)
    }
    for month in backtest.months {
      reply.months.append(
        .with {
          $0.start = Google_Protobuf_Timestamp(date: month.period.start)
          $0.end = Google_Protobuf_Timestamp(date: month.period.end)
          $0.month = ForecastMonths.label(month.period.start, in: zone)
          $0.complete = month.complete
          $0.closedBefore = Int64(month.closedBefore)
          $0.teamCoefficientKnown = month.teamCoefficient != nil
          $0.teamCoefficient = month.teamCoefficient ?? 0
          $0.priorStrength = month.priorStrength
          for team in month.team where shown(team.currency) {
            $0.rows.append(team.message)
            for row in month.managers
            where row.currency == team.currency && query.visibility.sees(row.owner ?? "") {
              $0.rows.append(row.message)
            }
          }
        })
    }
    reply.summary = backtest.summary.filter { shown($0.currency) }.map(\.message)
    return reply
  }

  /// Every deal's versions up to the last month's end, oldest first. Nothing later is read: the
  /// backtest could not look ahead even if it tried.
  private func dealHistories(_ query: ForecastBacktestQuery) async throws -> [DealHistory] {
    guard let end = query.months.map(\.end).max() else { return [] }
    // The expected close date becomes the start of that day on the company's clock.
    let rows = try await client.query(
      """
      SELECT v.deal_id, v.occurred_at, v.status, v.probability, v.amount_minor, v.currency, v.owner_id,
        v.expected_close::timestamp AT TIME ZONE \(query.settings.zoneName)
      FROM deal_versions v
      WHERE v.occurred_at < \(end)
        AND (\(query.pipelineID)::text IS NULL
          OR EXISTS (SELECT 1 FROM deals d WHERE d.id = v.deal_id AND d.pipeline_id = \(query.pipelineID)::text))
      ORDER BY v.deal_id, v.version
      """, logger: logger)
    var histories: [DealHistory] = []
    for try await (deal, occurredAt, status, probability, amount, currency, owner, expected) in rows.decode(
      (String, Date, String, Int32, Int64, String, String, Date?).self)
    {
      if histories.last?.dealID != deal { histories.append(DealHistory(dealID: deal, versions: [])) }
      let previous = histories[histories.count - 1].versions.last?.validFrom ?? occurredAt
      histories[histories.count - 1].versions.append(
        DealVersion(
          // A version is in force from its own time, never before the one it follows (a
          // payload's time may be a little earlier than the envelope time of an estimate before it).
          validFrom: max(previous, occurredAt), status: DealVersion.Status(rawValue: status) ?? .open,
          probability: Int(probability), amountMinor: amount,
          currency: currency.isEmpty ? ForecastMoney.none : currency, owner: owner, expectedClose: expected))
    }
    return histories
  }
}

/// A deal without an amount has no currency; the backtest follows it under ISO 4217's code for
/// "no currency" and the reply leaves those rows out.
enum ForecastMoney {
  static let none = "XXX"
}

extension ForecastRow {
  var message: Crm_Reporting_V1_GetForecastReply.Row {
    .with {
      $0.ownerID = owner ?? ""
      $0.team = owner == nil
      $0.currency = currency
      $0.deals = Int64(deals)
      $0.amountMinor = amountMinor
      $0.rawMinor = rawMinor
      $0.correctedMinor = correctedMinor
      $0.coefficient = coefficient ?? 0
    }
  }
}

extension BacktestRow {
  var message: Crm_Reporting_V1_GetForecastBacktestReply.Row {
    .with {
      $0.ownerID = owner ?? ""
      $0.team = owner == nil
      $0.currency = currency
      $0.forecastDeals = Int64(forecastDeals)
      $0.rawMinor = rawMinor
      $0.correctedMinor = correctedMinor
      $0.wonDeals = Int64(wonDeals)
      $0.wonMinor = wonMinor
      $0.rawErrorMinor = rawError
      $0.correctedErrorMinor = correctedError
      $0.rawRelativeError = rawRelativeError ?? 0
      $0.correctedRelativeError = correctedRelativeError ?? 0
      $0.coefficient = coefficient ?? 0
    }
  }
}

extension BacktestSummary {
  var message: Crm_Reporting_V1_GetForecastBacktestReply.Summary {
    .with {
      $0.currency = currency
      $0.months = Int64(months)
      $0.rawMeanAbsoluteErrorMinor = rawMeanAbsoluteError
      $0.correctedMeanAbsoluteErrorMinor = correctedMeanAbsoluteError
      $0.correctedCloser = Int64(correctedCloser)
      $0.correctedFarther = Int64(correctedFarther)
      $0.correctionHelps = correctedMeanAbsoluteError < rawMeanAbsoluteError
    }
  }
}

extension ManagerCalibration {
  var message: Crm_Reporting_V1_Calibration {
    .with {
      $0.ownerID = owner
      $0.closed = Int64(closed)
      $0.won = Int64(won)
      $0.promisedWins = promisedWins
      $0.ownRecord = raw != nil
      $0.rawCoefficient = raw ?? 0
      $0.coefficient = coefficient
      $0.lower = interval?.lowerBound ?? 0
      $0.upper = interval?.upperBound ?? 0
      $0.ownWeight = ownWeight
    }
  }
}

extension Calibration {
  /// The team's pooled coefficient (not shrunk: it is the prior's centre), with its interval.
  var teamMessage: Crm_Reporting_V1_Calibration {
    .with {
      $0.team = true
      $0.closed = Int64(closed)
      $0.won = Int64(won)
      $0.promisedWins = promisedWins
      $0.ownRecord = teamCoefficient != nil
      $0.rawCoefficient = teamCoefficient ?? 0
      $0.coefficient = teamCoefficient ?? 1
      $0.lower = teamInterval?.lowerBound ?? 0
      $0.upper = teamInterval?.upperBound ?? 0
      $0.ownWeight = teamCoefficient != nil ? 1 : 0
    }
  }
}

extension Calibration.PriorFit {
  var message: Crm_Reporting_V1_PriorFit {
    switch self {
    case .fitted: .fitted
    case .upperBound: .upperBound
    case .lowerBound: .lowerBound
    case .tooFewToFit: .tooFewToFit
    }
  }
}
