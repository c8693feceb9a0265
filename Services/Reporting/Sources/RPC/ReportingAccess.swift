import CRMIdentity

/// Who may call which reporting method. The reports are the sales department's: a manager
/// reads them too, with other managers' rows left out (`Visibility`); quality-control's roles
/// read none (DESIGN §6). Rebuilding the projections is the operators' (no rule: operators only).
enum ReportingAccess {
  static let service = "crm.reporting.v1.Reporting/"
  static let reports = "reports are read by managers (their own rows and the team's), heads of sales and operators"

  static let policy = AccessPolicy(
    Dictionary(
      uniqueKeysWithValues: [
        "GetFunnel", "GetLeadFunnel", "GetLosses", "GetStalledDeals",
        // Discipline, quality control, leaderboard.
        "GetDiscipline", "GetCardCompleteness", "GetQualityScores", "GetLeaderboard",
        // Forecast.
        "GetForecast", "GetForecastBacktest",
      ].map {
        (service + $0, AccessPolicy.Rule([.operator, .headOfSales, .manager], reports))
      }))
}
