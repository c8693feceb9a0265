import CRMContracts
import CRMDomain
import CRMIdentity
import CRMReview
import CRMRuntime
import Foundation
import GRPCCore

/// Reporting's RPCs: checks the request (INVALID_ARGUMENT names the field), then asks the
/// repository, which leaves out the rows the caller may not see.
struct ReportingRPCService: Crm_Reporting_V1_Reporting.SimpleServiceProtocol {
  let repository: any ReportingRepository
  let pageTokens: PageTokenKey
  /// The review code key rep codes are mapped back to managers with (nil: codes stay codes).
  var codes: ReviewCodes? = nil
  /// The company's clock for the forecast backtest's months.
  var forecast = ForecastSettings.default

  func getFunnel(request: Crm_Reporting_V1_GetFunnelRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_GetFunnelReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.funnel(
        FunnelQuery(
          pipelineID: try ReportInput.required(request.pipelineID, "pipeline_id"),
          period: request.hasPeriod ? try ReportPeriod(request.period, field: "period") : .all,
          kind: try ReportInput.kind(request.kind, "kind"), source: try ReportInput.filter(request.source, "source"),
          ownerID: try ReportInput.filter(request.ownerID, "owner_id"), visibility: Visibility(try Principal.verified)))
    }
  }

  func getLeadFunnel(request: Crm_Reporting_V1_GetLeadFunnelRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_GetLeadFunnelReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.leadFunnel(
        LeadFunnelQuery(
          period: request.hasPeriod ? try ReportPeriod(request.period, field: "period") : .all,
          businessLine: try ReportInput.filter(request.businessLine, "business_line"),
          source: try ReportInput.filter(request.source, "source"),
          ownerID: try ReportInput.filter(request.ownerID, "owner_id"), visibility: Visibility(try Principal.verified)))
    }
  }

  func getLosses(request: Crm_Reporting_V1_GetLossesRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_GetLossesReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.losses(
        LossesQuery(
          pipelineID: try ReportInput.filter(request.pipelineID, "pipeline_id"),
          period: request.hasPeriod ? try ReportPeriod(request.period, field: "period") : .all,
          ownerID: try ReportInput.filter(request.ownerID, "owner_id"), visibility: Visibility(try Principal.verified)))
    }
  }

  func getStalledDeals(request: Crm_Reporting_V1_GetStalledDealsRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_GetStalledDealsReply
  {
    try await answering {
      try request.requireKnownFields("request")
      guard (1...StalledQuery.maximumDays).contains(Int(request.days)) else {
        throw InvalidField(field: "days", reason: "is \(request.days); expected 1 to \(StalledQuery.maximumDays)")
      }
      let page = try Page(request.page, scope: "GetStalledDeals", key: pageTokens)
      if page.cursor != nil {
        throw InvalidField(field: "page.page_token", reason: "is not a token this method issued")
      }
      let query = StalledQuery(
        days: Int(request.days), asOf: request.hasAsOf ? try ReportInput.instant(request.asOf, "as_of") : Date(),
        pipelineID: try ReportInput.filter(request.pipelineID, "pipeline_id"),
        stageID: try ReportInput.filter(request.stageID, "stage_id"),
        ownerID: try ReportInput.filter(request.ownerID, "owner_id"), visibility: Visibility(try Principal.verified))
      var (reply, next) = try await repository.stalledDeals(query, after: page.keyset, limit: page.size)
      reply.nextPageToken = next.map { page.token(key: $0.key, seq: $0.seq) } ?? ""
      return reply
    }
  }

  func rebuildProjections(request: Crm_Reporting_V1_RebuildProjectionsRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_RebuildProjectionsReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let started = ContinuousClock.now
      let summary = try await repository.rebuildProjections()
      let elapsed = ContinuousClock.now - started
      return .with {
        $0.events = Int64(summary.events)
        $0.projected = Int64(summary.projected)
        $0.stale = Int64(summary.stale)
        $0.unknown = Int64(summary.unknown)
        $0.milliseconds = elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
      }
    }
  }
}
