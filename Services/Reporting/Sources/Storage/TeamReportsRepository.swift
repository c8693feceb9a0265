import CRMContracts

/// The discipline, card completeness, QC and leaderboard reports (part of `ReportingRepository`).
protocol TeamReportsRepository: Sendable {
  func discipline(_ query: DisciplineQuery) async throws -> Crm_Reporting_V1_GetDisciplineReply
  func cardCompleteness(_ query: CardCompletenessQuery) async throws -> Crm_Reporting_V1_GetCardCompletenessReply
  func qualityScores(_ query: QualityQuery) async throws -> Crm_Reporting_V1_GetQualityScoresReply
  func leaderboard(_ query: LeaderboardQuery) async throws -> Crm_Reporting_V1_GetLeaderboardReply
}
