import CRMIdentity
import Foundation

/// The dashboard's pages: one per group of reports, reached from the nav with the same filters.
enum DashboardSection: String, Sendable, CaseIterable {
  case funnel, losses, forecast, team, leaderboard

  var path: String { self == .funnel ? "/dashboard" : "/dashboard/\(rawValue)" }

  var title: String {
    switch self {
    case .funnel: "Воронка и лиды"
    case .losses: "Потери и зависшие сделки"
    case .forecast: "Прогноз"
    case .team: "Дисциплина, карточки, качество"
    case .leaderboard: "Рейтинг"
    }
  }
}

/// What every section's builder needs: who asks, his checked filters, the company's clock and
/// the names to show instead of manager ids.
struct DashboardContext: Sendable {
  var person: Principal
  var filters: DashboardFilters
  var zone: TimeZone
  /// Manager id → name (users who sign in); an id without a name is shown as the id.
  var names: [String: String]
  /// The pipeline the funnel shows (the one asked for, else the first); nil with none known.
  var pipeline: DashboardDirectory.Pipeline?
  var pipelines: [DashboardDirectory.Pipeline]

  func who(_ id: String, team: Bool) -> String { team ? "Команда" : names[id] ?? id }

  /// A row's key in the page (`data-owner`): "team" or the manager id.
  static func ownerKey(_ id: String, team: Bool) -> String { team ? "team" : id }

  /// Whether a manager's row is shown: all the report gave, or the one manager picked.
  func shows(_ owner: String, team: Bool) -> Bool {
    team || filters.managerID == nil || filters.managerID == owner
  }
}

/// The whole page's view (the `dashboard` template): nav, filters, and one section.
struct DashboardView: Sendable, Hashable {
  struct Link: Sendable, Hashable {
    var title: String
    var href: String
    var current: Bool
  }

  struct Option: Sendable, Hashable {
    var value: String
    var label: String
    var selected: Bool
  }

  struct Managers: Sendable, Hashable { var options: [Option] }

  struct Filters: Sendable, Hashable {
    var action: String
    var from: String
    var to: String
    var pipelines: [Option]
    var kinds: [Option]
    var source: String
    /// Only for those who may pick a manager (a head of sales): one select of these.
    var managers: Managers?
    var days: String
  }

  var heading: String
  var scope: String
  var nav: [Link]
  var filters: Filters
  var funnel: FunnelSection?
  var losses: LossesSection?
  var forecast: ForecastSection?
  var team: TeamSection?
  var leaderboard: LeaderboardSection?
}

/// A proportion as the tables show it: "42,5 %", its interval, "3 из 4", and its bar.
struct RateView: Sendable, Hashable {
  var percent: String
  /// "30,1–95,4 %"; nil without trials.
  var interval: String?
  /// The interval and the counts ("30,1–95,4 % · 3 из 4"); nil without trials.
  var detail: String?
  var bar: ChartBar

  init(successes: Int64, trials: Int64, value: Double, lower: Double, upper: Double) {
    let known = trials > 0
    percent = known ? RussianFormat.percent(value) : "—"
    let interval = RussianFormat.decimal(lower * 100, digits: 1) + "–" + RussianFormat.percent(upper)
    self.interval = known ? interval : nil
    detail = known ? "\(interval) · \(RussianFormat.integer(successes)) из \(RussianFormat.integer(trials))" : nil
    bar = ChartBar(
      known ? value : 0, interval: known ? (lower, upper) : nil,
      label: known ? "\(percent), 95 % интервал \(interval)" : "нет данных")
  }
}
