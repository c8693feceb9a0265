import CRMContracts
import CRMDomain
import CRMIdentity
import CRMRuntime
import Foundation
import GRPCCore

/// Discipline, card completeness, QC scores and the leaderboard: the request checked, the rows
/// the caller may see (a manager his own and the team's).
extension ReportingRPCService {
  func getDiscipline(request: Crm_Reporting_V1_GetDisciplineRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_GetDisciplineReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.discipline(
        DisciplineQuery(
          period: request.hasPeriod ? try ReportPeriod(request.period, field: "period") : .all,
          managerID: try ReportInput.filter(request.managerID, "manager_id"),
          visibility: Visibility(try Principal.verified)))
    }
  }

  func getCardCompleteness(request: Crm_Reporting_V1_GetCardCompletenessRequest, context: ServerContext)
    async throws -> Crm_Reporting_V1_GetCardCompletenessReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.cardCompleteness(
        CardCompletenessQuery(
          managerID: try ReportInput.filter(request.managerID, "manager_id"),
          visibility: Visibility(try Principal.verified)))
    }
  }

  func getQualityScores(request: Crm_Reporting_V1_GetQualityScoresRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_GetQualityScoresReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.qualityScores(
        QualityQuery(
          period: request.hasPeriod ? try ReportPeriod(request.period, field: "period") : .all,
          managerID: try ReportInput.filter(request.managerID, "manager_id"),
          bucket: try QualityQuery.bucket(request.bucket, "bucket"), visibility: Visibility(try Principal.verified),
          codes: codes))
    }
  }

  func getLeaderboard(request: Crm_Reporting_V1_GetLeaderboardRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_GetLeaderboardReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.leaderboard(
        LeaderboardQuery(
          period: request.hasPeriod ? try ReportPeriod(request.period, field: "period") : .all,
          currency: try LeaderboardQuery.currency(request.currency, "currency"),
          visibility: Visibility(try Principal.verified), codes: codes))
    }
  }
}
