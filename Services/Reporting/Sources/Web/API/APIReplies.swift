import CRMContracts
import Foundation
import SwiftProtobuf

/// The reporting replies as the document's schemas: the same figures, field for field; a team
/// row carries no owner. A number JSON cannot hold (not finite) is written as 0, never a 500.
enum APIReplies {
  typealias S = Components.Schemas

  static func number(_ value: Double) -> Double { value.isFinite ? value : 0 }

  /// A manager's id; nil on a team row.
  static func owner(_ id: String, team: Bool) -> String? { team || id.isEmpty ? nil : id }

  static func rate(_ rate: Crm_Reporting_V1_Rate) -> S.Rate {
    S.Rate(
      successes: rate.successes, trials: rate.trials, value: number(rate.value), lower: number(rate.lower),
      upper: number(rate.upper))
  }

  static func money(_ money: Crm_Common_V1_Money) -> S.Money {
    S.Money(minorUnits: money.minorUnits, currency: money.currency)
  }

  static func funnel(_ reply: Crm_Reporting_V1_GetFunnelReply) -> S.Funnel {
    S.Funnel(
      pipelineId: reply.pipelineID,
      rows: reply.rows.map { row in
        S.FunnelRow(
          stageId: row.stageID, stageName: row.stageName, position: row.position,
          ownerId: owner(row.ownerID, team: row.team), team: row.team, entered: row.entered, advanced: row.advanced,
          lost: row.lost, won: row.won, open: row.open, skipped: row.skipped,
          conversionToNext: rate(row.conversionToNext), conversionToWon: rate(row.conversionToWon),
          medianSecondsInStage: number(row.medianSecondsInStage), leftStays: row.leftStays)
      })
  }

  static func leadFunnel(_ reply: Crm_Reporting_V1_GetLeadFunnelReply) -> S.LeadFunnel {
    S.LeadFunnel(
      rows: reply.rows.map { row in
        S.LeadFunnelRow(
          source: row.source, ownerId: owner(row.ownerID, team: row.team), team: row.team, leads: row.leads,
          converted: row.converted, rejected: row.rejected, open: row.open, conversion: rate(row.conversion),
          rejections: row.rejections.map { .init(reason: $0.reason, leads: $0.leads) })
      })
  }

  static func losses(_ reply: Crm_Reporting_V1_GetLossesReply) -> S.Losses {
    S.Losses(
      rows: reply.rows.map { row in
        S.LossRow(
          pipelineId: row.pipelineID, stageId: row.stageID, stageName: row.stageName, reason: row.reason,
          kind: lossKind(row.kind), ownerId: owner(row.ownerID, team: row.team), team: row.team, deals: row.deals,
          amounts: row.amounts.map(money))
      }, lost: reply.lost, real: reply.real, stall: reply.stall)
  }

  static func lossKind(_ kind: Crm_Reporting_V1_LossKind) -> S.LossRow.KindPayload {
    switch kind {
    case .real: .real
    case .stall: .stall
    default: .none
    }
  }

  static func stalledDeals(_ reply: Crm_Reporting_V1_GetStalledDealsReply) -> S.StalledDeals {
    S.StalledDeals(
      deals: reply.deals.map { deal in
        S.StalledDeal(
          dealId: deal.dealID, contactId: deal.contactID, pipelineId: deal.pipelineID, stageId: deal.stageID,
          ownerId: deal.ownerID, amount: money(deal.amount), lastMovedAt: deal.lastMovedAt.date,
          lastActivityAt: deal.hasLastActivityAt ? deal.lastActivityAt.date : nil, idleSeconds: deal.idleSeconds)
      }, nextCursor: reply.nextPageToken.isEmpty ? nil : reply.nextPageToken,
      byStage: reply.byStage.map {
        .init(pipelineId: $0.pipelineID, stageId: $0.stageID, stageName: $0.stageName, deals: $0.deals)
      })
  }

  static func forecast(_ reply: Crm_Reporting_V1_GetForecastReply) -> S.Forecast {
    S.Forecast(
      rows: reply.rows.map { row in
        .init(
          ownerId: owner(row.ownerID, team: row.team), team: row.team, currency: row.currency, deals: row.deals,
          amountMinor: row.amountMinor, rawMinor: row.rawMinor, correctedMinor: row.correctedMinor,
          coefficient: number(row.coefficient))
      },
      calibrations: reply.calibrations.map { calibration in
        S.Calibration(
          ownerId: owner(calibration.ownerID, team: calibration.team), team: calibration.team,
          closed: calibration.closed, won: calibration.won, promisedWins: number(calibration.promisedWins),
          ownRecord: calibration.ownRecord, rawCoefficient: number(calibration.rawCoefficient),
          coefficient: number(calibration.coefficient), lower: number(calibration.lower),
          upper: number(calibration.upper), ownWeight: number(calibration.ownWeight))
      }, level: number(reply.level), priorStrength: number(reply.priorStrength), priorFit: priorFit(reply.priorFit))
  }

  static func priorFit(_ fit: Crm_Reporting_V1_PriorFit) -> S.Forecast.PriorFitPayload {
    switch fit {
    case .fitted: .fitted
    case .upperBound: .upperBound
    case .lowerBound: .lowerBound
    case .tooFewToFit: .tooFewToFit
    default: .unspecified
    }
  }

  static func backtest(_ reply: Crm_Reporting_V1_GetForecastBacktestReply) -> S.ForecastBacktest {
    S.ForecastBacktest(
      months: reply.months.map { month in
        S.BacktestMonth(
          start: month.start.date, end: month.end.date, month: month.month, complete: month.complete,
          closedBefore: month.closedBefore, teamCoefficientKnown: month.teamCoefficientKnown,
          teamCoefficient: number(month.teamCoefficient), priorStrength: number(month.priorStrength),
          rows: month.rows.map { row in
            .init(
              ownerId: owner(row.ownerID, team: row.team), team: row.team, currency: row.currency,
              forecastDeals: row.forecastDeals, rawMinor: row.rawMinor, correctedMinor: row.correctedMinor,
              wonDeals: row.wonDeals, wonMinor: row.wonMinor, rawErrorMinor: row.rawErrorMinor,
              correctedErrorMinor: row.correctedErrorMinor, rawRelativeError: number(row.rawRelativeError),
              correctedRelativeError: number(row.correctedRelativeError), coefficient: number(row.coefficient))
          })
      },
      summary: reply.summary.map { summary in
        .init(
          currency: summary.currency, months: summary.months,
          rawMeanAbsoluteErrorMinor: number(summary.rawMeanAbsoluteErrorMinor),
          correctedMeanAbsoluteErrorMinor: number(summary.correctedMeanAbsoluteErrorMinor),
          correctedCloser: summary.correctedCloser, correctedFarther: summary.correctedFarther,
          correctionHelps: summary.correctionHelps)
      }, timeZone: reply.timeZone)
  }

  static func counts(_ counts: Crm_Reporting_V1_GetDisciplineReply.Counts) -> S.DisciplineCounts {
    S.DisciplineCounts(
      days: counts.days, unprocessedDeals: counts.unprocessedDeals, dealsWithoutOpenTask: counts.dealsWithoutOpenTask,
      dealsWithOverdueTask: counts.dealsWithOverdueTask, violations: counts.violations,
      violationsPerDay: number(counts.violationsPerDay))
  }

  static func discipline(_ reply: Crm_Reporting_V1_GetDisciplineReply) -> S.Discipline {
    S.Discipline(
      managers: reply.managers.map { manager in
        .init(
          managerId: owner(manager.managerID, team: manager.team), team: manager.team,
          counts: counts(manager.counts),
          weeks: manager.weeks.map { .init(start: $0.start.date, counts: counts($0.counts)) },
          trendPerWeek: number(manager.trendPerWeek))
      })
  }

  static func cardCompleteness(_ reply: Crm_Reporting_V1_GetCardCompletenessReply) -> S.CardCompleteness {
    S.CardCompleteness(
      managers: reply.managers.map { manager in
        .init(
          managerId: owner(manager.managerID, team: manager.team), team: manager.team, contacts: manager.contacts,
          contactFieldsFilled: manager.contactFieldsFilled, contactFieldsTotal: manager.contactFieldsTotal,
          contactShare: number(manager.contactShare), mandatoryOnlyContacts: manager.mandatoryOnlyContacts,
          deals: manager.deals, dealFieldsFilled: manager.dealFieldsFilled, dealFieldsTotal: manager.dealFieldsTotal,
          dealShare: number(manager.dealShare))
      })
  }

  static func qualityScores(_ reply: Crm_Reporting_V1_GetQualityScoresReply) -> S.QualityScores {
    S.QualityScores(
      reps: reply.reps.map { rep in
        .init(
          managerId: owner(rep.managerID, team: rep.team), repCode: rep.team || rep.repCode.isEmpty ? nil : rep.repCode,
          team: rep.team, reviews: rep.reviews, itemsReviewed: rep.itemsReviewed, meanScore: number(rep.meanScore),
          buckets: rep.buckets.map {
            .init(start: $0.start.date, reviews: $0.reviews, meanScore: number($0.meanScore))
          },
          reportsLogged: rep.reportsLogged, coverage: number(rep.coverage))
      })
  }

  static func metric(_ metric: Crm_Reporting_V1_LeaderboardMetric) -> S.LeaderboardMetric {
    S.LeaderboardMetric(value: number(metric.value), rank: metric.rank)
  }

  static func leaderboard(_ reply: Crm_Reporting_V1_GetLeaderboardReply) -> S.Leaderboard {
    S.Leaderboard(
      currency: reply.currency, managers: reply.managers,
      entries: reply.entries.map { entry in
        .init(
          managerId: owner(entry.managerID, team: entry.team), team: entry.team, wonAmount: metric(entry.wonAmount),
          wonDeals: entry.wonDeals, conversion: metric(entry.conversion), conversionRate: rate(entry.conversionRate),
          activities: metric(entry.activities), qcScore: metric(entry.qcScore), qcReviews: entry.qcReviews,
          discipline: metric(entry.discipline))
      })
  }
}
