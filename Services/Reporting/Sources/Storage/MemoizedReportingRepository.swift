import CRMContracts
import CRMRuntime
import Logging
import PostgresNIO

/// `ReportingRepository` with the dear reports kept in a `ReportMemo`: the funnel, the lead
/// funnel, the losses, the forecast and the leaderboard. Each is computed for everyone (no owner
/// filter) once per `ProjectionVersion`, then narrowed per caller exactly as the repository
/// narrows: team rows stay, a manager's rows only where the owner filter and the caller's
/// visibility let them. The rest (stalled deals as of now, the backtest, the team reports, the
/// rebuild) go straight through.
struct MemoizedReportingRepository: ReportingRepository {
  let base: PostgresReportingRepository
  let memo: ReportMemo

  /// The reply of `key` for the projections as they stand now.
  private func kept<Reply: Sendable>(
    _ key: ReportMemo.Key, _ compute: @escaping @Sendable () async throws -> Reply
  ) async throws -> Reply {
    let version = try await ProjectionVersion.current(key.areas, base.client, logger: base.logger)
    return try await memo.value(key, at: version, compute)
  }

  func funnel(_ query: FunnelQuery) async throws -> Crm_Reporting_V1_GetFunnelReply {
    var everyone = query
    everyone.ownerID = nil
    everyone.visibility = .everyone
    let key = ReportMemo.Key.funnel(
      pipelineID: query.pipelineID, period: query.period, kind: query.kind, source: query.source)
    var reply = try await kept(key) { [base, everyone] in try await base.funnel(everyone) }
    reply.rows.removeAll { !$0.team && !Self.shows($0.ownerID, owner: query.ownerID, query.visibility) }
    return reply
  }

  func leadFunnel(_ query: LeadFunnelQuery) async throws -> Crm_Reporting_V1_GetLeadFunnelReply {
    var everyone = query
    everyone.ownerID = nil
    everyone.visibility = .everyone
    let key = ReportMemo.Key.leadFunnel(period: query.period, businessLine: query.businessLine, source: query.source)
    var reply = try await kept(key) { [base, everyone] in try await base.leadFunnel(everyone) }
    reply.rows.removeAll { !$0.team && !Self.shows($0.ownerID, owner: query.ownerID, query.visibility) }
    return reply
  }

  func losses(_ query: LossesQuery) async throws -> Crm_Reporting_V1_GetLossesReply {
    var everyone = query
    everyone.ownerID = nil
    everyone.visibility = .everyone
    let key = ReportMemo.Key.losses(pipelineID: query.pipelineID, period: query.period)
    var reply = try await kept(key) { [base, everyone] in try await base.losses(everyone) }
    reply.rows.removeAll { !$0.team && !Self.shows($0.ownerID, owner: query.ownerID, query.visibility) }
    return reply
  }

  func forecast(_ query: ForecastQuery) async throws -> Crm_Reporting_V1_GetForecastReply {
    var everyone = query
    everyone.visibility = .everyone
    let key = ReportMemo.Key.forecast(pipelineID: query.pipelineID, currency: query.currency)
    var reply = try await kept(key) { [base, everyone] in try await base.forecast(everyone) }
    reply.rows.removeAll { !$0.team && !query.visibility.sees($0.ownerID) }
    reply.calibrations.removeAll { !$0.team && !query.visibility.sees($0.ownerID) }
    return reply
  }

  func leaderboard(_ query: LeaderboardQuery) async throws -> Crm_Reporting_V1_GetLeaderboardReply {
    var everyone = query
    everyone.visibility = .everyone
    let key = ReportMemo.Key.leaderboard(period: query.period, currency: query.currency)
    var reply = try await kept(key) { [base, everyone] in try await base.leaderboard(everyone) }
    reply.entries.removeAll { !$0.team && !query.visibility.sees($0.managerID) }
    return reply
  }

  /// A manager's row: within the owner filter, and the caller may see it.
  static func shows(_ rowOwner: String, owner: String?, _ visibility: Visibility) -> Bool {
    (owner == nil || owner == rowOwner) && visibility.sees(rowOwner)
  }

  func stalledDeals(_ query: StalledQuery, after: Page.Keyset?, limit: Int) async throws -> (
    Crm_Reporting_V1_GetStalledDealsReply, next: Page.Keyset?
  ) { try await base.stalledDeals(query, after: after, limit: limit) }

  func rebuildProjections() async throws -> ProjectionRebuild.Summary { try await base.rebuildProjections() }

  func forecastBacktest(_ query: ForecastBacktestQuery) async throws -> Crm_Reporting_V1_GetForecastBacktestReply {
    try await base.forecastBacktest(query)
  }

  func discipline(_ query: DisciplineQuery) async throws -> Crm_Reporting_V1_GetDisciplineReply {
    try await base.discipline(query)
  }

  func cardCompleteness(_ query: CardCompletenessQuery) async throws -> Crm_Reporting_V1_GetCardCompletenessReply {
    try await base.cardCompleteness(query)
  }

  func qualityScores(_ query: QualityQuery) async throws -> Crm_Reporting_V1_GetQualityScoresReply {
    try await base.qualityScores(query)
  }
}
