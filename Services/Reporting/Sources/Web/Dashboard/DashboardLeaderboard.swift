import CRMContracts
import Foundation

/// Managers ranked by won amount, conversion (by its interval's lower bound), activities, QC
/// score and discipline, each with its value and rank.
struct LeaderboardSection: Sendable, Hashable {
  struct Metric: Sendable, Hashable {
    var value: String
    var rank: String
  }

  struct Entry: Sendable, Hashable {
    var owner: String
    var who: String
    var team: Bool
    var won: Metric
    var wonDeals: String
    var conversion: Metric
    var conversionInterval: String
    var activities: Metric
    var quality: Metric
    var discipline: Metric
  }

  var currency: String
  var managers: String
  var entries: [Entry]
}

extension Dashboard {
  func leaderboard(_ context: DashboardContext) async throws -> LeaderboardSection {
    let period = self.period(context)
    let reply = try await reports.call(Method.GetLeaderboard.descriptor, as: context.person) { service, server in
      try await service.getLeaderboard(request: .with { if let period { $0.period = period } }, context: server)
    }
    func metric(_ metric: Crm_Reporting_V1_LeaderboardMetric, _ value: (Double) -> String) -> LeaderboardSection.Metric
    {
      .init(value: metric.rank == 0 ? "—" : value(metric.value), rank: metric.rank == 0 ? "—" : "\(metric.rank)")
    }
    let currency = reply.currency
    return LeaderboardSection(
      currency: currency.isEmpty ? "—" : currency, managers: RussianFormat.integer(Int64(reply.managers)),
      entries: reply.entries.filter { context.shows($0.managerID, team: $0.team) }.map { entry in
        LeaderboardSection.Entry(
          owner: DashboardContext.ownerKey(entry.managerID, team: entry.team),
          who: context.who(entry.managerID, team: entry.team), team: entry.team,
          won: entry.team
            ? .init(value: RussianFormat.money(roundedMinor: entry.wonAmount.value, currency: currency), rank: "—")
            : metric(entry.wonAmount) { RussianFormat.money(roundedMinor: $0, currency: currency) },
          wonDeals: RussianFormat.integer(entry.wonDeals),
          conversion: entry.team
            ? .init(
              value: entry.conversionRate.trials == 0 ? "—" : RussianFormat.percent(entry.conversionRate.value),
              rank: "—")
            : metric(entry.conversion) { _ in RussianFormat.percent(entry.conversionRate.value) },
          conversionInterval: entry.conversionRate.trials == 0
            ? "" : RateView(entry.conversionRate).interval ?? "",
          activities: entry.team
            ? .init(value: RussianFormat.decimal(entry.activities.value, digits: 0), rank: "—")
            : metric(entry.activities) { RussianFormat.decimal($0, digits: 0) },
          quality: entry.team
            ? .init(
              value: entry.qcReviews == 0 ? "—" : RussianFormat.decimal(entry.qcScore.value, digits: 1), rank: "—")
            : metric(entry.qcScore) { RussianFormat.decimal($0, digits: 1) },
          discipline: entry.team
            ? .init(value: RussianFormat.decimal(entry.discipline.value, digits: 2), rank: "—")
            : metric(entry.discipline) { RussianFormat.decimal($0, digits: 2) })
      })
  }
}
