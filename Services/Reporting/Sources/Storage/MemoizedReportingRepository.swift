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

  /// A report of team rows and managers' rows: computed for everyone, then thinned by the
  /// caller's owner filter and visibility.
  private func narrowed<Query: OwnersQuery, Reply: OwnersRows>(
    _ query: Query, _ key: ReportMemo.Key,
    _ compute: @escaping @Sendable (PostgresReportingRepository, Query) async throws -> Reply
  ) async throws -> Reply {
    var unfiltered = query
    unfiltered.ownerID = nil
    var reply = try await forEveryone(unfiltered, key, compute)
    reply.rows.removeAll { !$0.team && !query.visibility.shows($0.ownerID, filter: query.ownerID) }
    return reply
  }

  func funnel(_ query: FunnelQuery) async throws -> Crm_Reporting_V1_GetFunnelReply {
    let key = ReportMemo.Key.funnel(
      pipelineID: query.pipelineID, period: query.period, kind: query.kind, source: query.source)
    return try await narrowed(query, key) { try await $0.funnel($1) }
  }

  func leadFunnel(_ query: LeadFunnelQuery) async throws -> Crm_Reporting_V1_GetLeadFunnelReply {
    let key = ReportMemo.Key.leadFunnel(period: query.period, businessLine: query.businessLine, source: query.source)
    return try await narrowed(query, key) { try await $0.leadFunnel($1) }
  }

  func losses(_ query: LossesQuery) async throws -> Crm_Reporting_V1_GetLossesReply {
    try await narrowed(query, .losses(pipelineID: query.pipelineID, period: query.period)) { try await $0.losses($1) }
  }

  /// The reply of `key` as everyone may see it: the caller narrows it.
  private func forEveryone<Query: VisibleQuery, Reply: Sendable>(
    _ query: Query, _ key: ReportMemo.Key,
    _ compute: @escaping @Sendable (PostgresReportingRepository, Query) async throws -> Reply
  ) async throws -> Reply {
    var everyone = query
    everyone.visibility = .everyone
    return try await kept(key) { [base, everyone] in try await compute(base, everyone) }
  }

  func forecast(_ query: ForecastQuery) async throws -> Crm_Reporting_V1_GetForecastReply {
    let key = ReportMemo.Key.forecast(pipelineID: query.pipelineID, currency: query.currency)
    var reply = try await forEveryone(query, key) { try await $0.forecast($1) }
    reply.rows.removeAll { !$0.team && !query.visibility.sees($0.ownerID) }
    reply.calibrations.removeAll { !$0.team && !query.visibility.sees($0.ownerID) }
    return reply
  }

  func leaderboard(_ query: LeaderboardQuery) async throws -> Crm_Reporting_V1_GetLeaderboardReply {
    let key = ReportMemo.Key.leaderboard(period: query.period, currency: query.currency)
    var reply = try await forEveryone(query, key) { try await $0.leaderboard($1) }
    reply.entries.removeAll { !$0.team && !query.visibility.sees($0.managerID) }
    return reply
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

/// A report query whose rows the caller's visibility thins.
protocol VisibleQuery: Sendable {
  var visibility: Visibility { get set }
}

/// … and an owner filter too.
protocol OwnersQuery: VisibleQuery {
  var ownerID: String? { get set }
}

extension ForecastQuery: VisibleQuery {}
extension LeaderboardQuery: VisibleQuery {}

extension FunnelQuery: OwnersQuery {}
extension LeadFunnelQuery: OwnersQuery {}
extension LossesQuery: OwnersQuery {}

/// A reply of team rows and managers' rows.
protocol OwnersRows: Sendable {
  associatedtype Row: OwnerRow
  var rows: [Row] { get set }
}

protocol OwnerRow {
  var team: Bool { get }
  var ownerID: String { get }
}

extension Crm_Reporting_V1_GetFunnelReply: OwnersRows {}
extension Crm_Reporting_V1_GetFunnelReply.Row: OwnerRow {}
extension Crm_Reporting_V1_GetLeadFunnelReply: OwnersRows {}
extension Crm_Reporting_V1_GetLeadFunnelReply.Row: OwnerRow {}
extension Crm_Reporting_V1_GetLossesReply: OwnersRows {}
extension Crm_Reporting_V1_GetLossesReply.Row: OwnerRow {}
