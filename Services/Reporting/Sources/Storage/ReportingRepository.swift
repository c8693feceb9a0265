import CRMContracts
import CRMDomain
import CRMRuntime
import Foundation

/// The read models as the RPCs ask them. Rows a caller may not see are left out here
/// (`Visibility`), team totals always stay.
protocol ReportingRepository: TeamReportsRepository {
  func funnel(_ query: FunnelQuery) async throws -> Crm_Reporting_V1_GetFunnelReply
  func leadFunnel(_ query: LeadFunnelQuery) async throws -> Crm_Reporting_V1_GetLeadFunnelReply
  func losses(_ query: LossesQuery) async throws -> Crm_Reporting_V1_GetLossesReply
  /// A page of stalled deals after `after` (longest idle first), and the position of the next.
  func stalledDeals(_ query: StalledQuery, after: Page.Keyset?, limit: Int) async throws -> (
    Crm_Reporting_V1_GetStalledDealsReply, next: Page.Keyset?
  )
  func rebuildProjections() async throws -> ProjectionRebuild.Summary
  func forecast(_ query: ForecastQuery) async throws -> Crm_Reporting_V1_GetForecastReply
  func forecastBacktest(_ query: ForecastBacktestQuery) async throws -> Crm_Reporting_V1_GetForecastBacktestReply
}

/// A pipeline reporting has not seen defined (no PipelineDefined event yet).
struct UnknownPipeline: DomainError, Equatable {
  var pipelineID: String
  var status: FailureStatus { .notFound }
  var description: String {
    "pipeline_id: pipeline \(Text.quoted(pipelineID)) is not known to reporting (no PipelineDefined event of it)"
  }
}

extension WilsonInterval {
  var rate: Crm_Reporting_V1_Rate {
    .with {
      $0.successes = Int64(successes)
      $0.trials = Int64(trials)
      $0.value = proportion
      $0.lower = lower
      $0.upper = upper
    }
  }
}
