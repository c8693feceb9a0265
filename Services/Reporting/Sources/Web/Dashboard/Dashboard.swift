import CRMContracts
import CRMIdentity
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import SwiftProtobuf

/// The managers' dashboard: the reports of the reporting service, asked as the signed-in person
/// (`InProcessReports`), drawn as tables and SVG bars. The edge checks only what the form may ask:
/// a pipeline or manager it knows, and that a manager asks for no one but himself (403); which
/// rows come back is the reports' own rule.
struct Dashboard: Sendable {
  typealias Method = Crm_Reporting_V1_Reporting.Method

  let reports: InProcessReports
  let directory: DashboardDirectory
  /// Pages kept per view, when the reports are kept (`RenderedDashboards`).
  let rendered: RenderedDashboards?

  init(reports: InProcessReports, client: PostgresClient, logger: Logger) {
    self.reports = reports
    directory = DashboardDirectory(client: client, logger: logger)
    rendered = reports.service.repository is MemoizedReportingRepository ? RenderedDashboards() : nil
  }

  /// The page of `section` for `person` with the query's filters.
  func view(_ section: DashboardSection, query: String?, person: Principal) async throws -> DashboardView {
    let filters = try DashboardFilters(query: query)
    async let pipelineList = directory.pipelines()
    let managers = try await directory.managers()
    let pipelines = try await pipelineList
    let everyone = person.actsForEveryone
    if let asked = filters.managerID {
      if !everyone, asked != person.subject {
        throw WebError(.forbidden, "Менеджер видит только свои показатели и показатели команды.")
      }
      if everyone, !managers.contains(where: { $0.id == asked }) {
        throw WebError(.notFound, "Поле «manager»: менеджер «\(asked)» не найден.")
      }
    }
    var pipeline = pipelines.first
    if let asked = filters.pipelineID {
      guard let found = pipelines.first(where: { $0.id == asked }) else {
        throw WebError(.notFound, "Поле «pipeline»: воронка «\(asked)» не найдена.")
      }
      pipeline = found
    }
    let names = Dictionary(managers.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
    let context = DashboardContext(
      person: person, filters: filters, zone: reports.zone, names: names, pipeline: pipeline, pipelines: pipelines)
    var view = DashboardView(
      heading: section.title, scope: Self.scope(context, everyone: everyone),
      nav: DashboardSection.allCases.map {
        .init(title: $0.title, href: $0.path + filters.query(), current: $0 == section)
      },
      filters: Self.form(section, context, managers: everyone ? managers : nil))
    do {
      switch section {
      case .funnel: view.funnel = try await funnel(context)
      case .losses: view.losses = try await losses(context)
      case .forecast: view.forecast = try await forecast(context)
      case .team: view.team = try await team(context)
      case .leaderboard: view.leaderboard = try await leaderboard(context)
      }
    } catch let error as RPCError {
      throw Self.refusal(error)
    }
    return view
  }

  /// The filters' period for the reports ([first day's midnight, the day after the last)).
  func period(_ context: DashboardContext) -> Crm_Reporting_V1_Period? {
    guard let period = context.filters.period(in: context.zone) else { return nil }
    return .with {
      if let from = period.from { $0.from = Google_Protobuf_Timestamp(date: from) }
      if let to = period.to { $0.to = Google_Protobuf_Timestamp(date: to) }
    }
  }

  static func scope(_ context: DashboardContext, everyone: Bool) -> String {
    if let id = context.filters.managerID {
      return "Команда и \(context.who(id, team: false))"
    }
    return everyone ? "Команда и все менеджеры" : "Ваши показатели и показатели команды"
  }

  static func form(_ section: DashboardSection, _ context: DashboardContext, managers: [DashboardDirectory.Manager]?)
    -> DashboardView.Filters
  {
    let filters = context.filters
    let kinds: [(DashboardFilters.Kind, String)] = [
      (.all, "все"), (.consultative, "консультативные"), (.active, "активные"),
    ]
    var managerOptions: DashboardView.Managers?
    if let managers {
      managerOptions = DashboardView.Managers(
        options: [DashboardView.Option(value: "", label: "все менеджеры", selected: filters.managerID == nil)]
          + managers.map { DashboardView.Option(value: $0.id, label: $0.name, selected: $0.id == filters.managerID) })
    }
    return DashboardView.Filters(
      action: section.path, from: filters.from?.iso ?? "", to: filters.to?.iso ?? "",
      pipelines: context.pipelines.map {
        .init(value: $0.id, label: $0.name, selected: $0.id == context.pipeline?.id)
      },
      kinds: kinds.map { DashboardView.Option(value: $0.0.rawValue, label: $0.1, selected: $0.0 == filters.kind) },
      source: filters.source ?? "", managers: managerOptions,
      days: String(filters.stalledDays))
  }

  /// A report's refusal as a page: its reason is the reporting service's own (a field it
  /// refused, the rule that denies the role).
  static func refusal(_ error: RPCError) -> WebError {
    switch error.code {
    case .invalidArgument: WebError(.badRequest, "Отчёт не принял фильтр: \(error.message)")
    case .permissionDenied: WebError(.forbidden, "Отчёты не для вашей роли.")
    case .notFound: WebError(.notFound, "Отчёт не нашёл этого: \(error.message)")
    case .deadlineExceeded, .unavailable, .resourceExhausted:
      WebError(.serviceUnavailable, "Отчёт не успел: повторите чуть позже.")
    default: WebError(.internalServerError, "Отчёт не получился: повторите позже.")
    }
  }
}
