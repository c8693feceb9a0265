import CRMContracts
import CRMDomain
import CRMIdentity
import CRMRuntime
import Foundation
import GRPCCore

/// The forecast's RPCs: the request checked (INVALID_ARGUMENT names the field), then the
/// repository, which leaves out other managers' rows for a manager.
extension ReportingRPCService {
  func getForecast(request: Crm_Reporting_V1_GetForecastRequest, context: ServerContext) async throws
    -> Crm_Reporting_V1_GetForecastReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.forecast(
        ForecastQuery(
          pipelineID: try ReportInput.filter(request.pipelineID, "pipeline_id"),
          currency: try ReportInput.currency(request.currency, "currency"),
          visibility: Visibility(try Principal.verified)))
    }
  }

  func getForecastBacktest(request: Crm_Reporting_V1_GetForecastBacktestRequest, context: ServerContext)
    async throws -> Crm_Reporting_V1_GetForecastBacktestReply
  {
    try await answering {
      try request.requireKnownFields("request")
      guard (1...ForecastBacktestQuery.maximumMonths).contains(Int(request.months)) else {
        throw InvalidField(
          field: "months", reason: "is \(request.months); expected 1 to \(ForecastBacktestQuery.maximumMonths)")
      }
      let now = request.hasAsOf ? try ReportInput.instant(request.asOf, "as_of") : Date()
      return try await repository.forecastBacktest(
        ForecastBacktestQuery(
          months: ForecastMonths.periods(count: Int(request.months), before: now, in: forecast.zone), now: now,
          pipelineID: try ReportInput.filter(request.pipelineID, "pipeline_id"),
          currency: try ReportInput.currency(request.currency, "currency"),
          visibility: Visibility(try Principal.verified), settings: forecast))
    }
  }
}
