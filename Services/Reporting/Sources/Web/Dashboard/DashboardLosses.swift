import CRMContracts
import Foundation

/// Losses by stage, reason and kind (a real objection against "I'll think about it"), and the
/// stalled deals: open, no move and no activity for `days` days, a page at a time.
struct LossesSection: Sendable, Hashable {
  struct Row: Sendable, Hashable {
    var stage: String
    var reason: String
    var kind: String
    var stall: Bool
    var owner: String
    var who: String
    var team: Bool
    var deals: String
    var amounts: String
  }

  struct StageCount: Sendable, Hashable {
    var stage: String
    var deals: String
  }

  struct Deal: Sendable, Hashable {
    var deal: String
    var stage: String
    var who: String
    var amount: String
    var lastMoved: String
    var lastActivity: String
    var idle: String
  }

  var lost: String
  var real: String
  var stall: String
  var realShare: String
  var stallShare: String
  var realBar: ChartBar
  var stallBar: ChartBar
  var rows: [Row]
  var days: String
  var byStage: [StageCount]
  var deals: [Deal]
  /// The next page of stalled deals, with the same filters.
  var next: String?
  var firstPage: String?
}

extension Dashboard {
  static let stalledPageSize: Int32 = 25

  func losses(_ context: DashboardContext) async throws -> LossesSection {
    let filters = context.filters
    let period = self.period(context)
    let pipelineID = filters.pipelineID ?? ""
    async let stalled = reports.call(Method.GetStalledDeals.descriptor, as: context.person) { service, server in
      try await service.getStalledDeals(
        request: .with {
          $0.days = Int32(filters.stalledDays)
          $0.pipelineID = pipelineID
          $0.ownerID = filters.managerID ?? ""
          $0.page = .with {
            $0.pageSize = Self.stalledPageSize
            $0.pageToken = filters.page ?? ""
          }
        }, context: server)
    }
    let reply = try await reports.call(Method.GetLosses.descriptor, as: context.person) { service, server in
      try await service.getLosses(
        request: .with {
          $0.pipelineID = pipelineID
          if let period { $0.period = period }
          $0.ownerID = filters.managerID ?? ""
        }, context: server)
    }
    let stages = Dictionary(
      context.pipelines.flatMap { $0.stages.map { ($0.key, $0.value) } }, uniquingKeysWith: { first, _ in first })
    let lost = max(reply.lost, 1)
    let rows = reply.rows.filter { context.shows($0.ownerID, team: $0.team) }.map { row in
      LossesSection.Row(
        stage: row.stageName.isEmpty ? row.stageID : row.stageName,
        reason: row.reason.isEmpty ? "без причины" : row.reason,
        kind: Self.lossKind(row.kind), stall: row.kind == .stall,
        owner: DashboardContext.ownerKey(row.ownerID, team: row.team), who: context.who(row.ownerID, team: row.team),
        team: row.team, deals: RussianFormat.integer(row.deals),
        amounts: row.amounts.map { RussianFormat.money(minor: $0.minorUnits, currency: $0.currency) }
          .joined(separator: "; "))
    }
    let stalledReply = try await stalled
    return LossesSection(
      lost: RussianFormat.integer(reply.lost), real: RussianFormat.integer(reply.real),
      stall: RussianFormat.integer(reply.stall),
      realShare: reply.lost == 0 ? "—" : RussianFormat.percent(Double(reply.real) / Double(lost)),
      stallShare: reply.lost == 0 ? "—" : RussianFormat.percent(Double(reply.stall) / Double(lost)),
      realBar: ChartBar(Double(reply.real) / Double(lost), label: "реальные возражения", color: "#c0392b"),
      stallBar: ChartBar(Double(reply.stall) / Double(lost), label: "«подумаю»", color: "#e39b2d"),
      rows: rows, days: RussianFormat.integer(filters.stalledDays),
      byStage: stalledReply.byStage.map {
        .init(stage: $0.stageName.isEmpty ? $0.stageID : $0.stageName, deals: RussianFormat.integer($0.deals))
      },
      deals: stalledReply.deals.map { deal in
        LossesSection.Deal(
          deal: deal.dealID, stage: stages[deal.stageID] ?? deal.stageID, who: context.who(deal.ownerID, team: false),
          amount: RussianFormat.money(minor: deal.amount.minorUnits, currency: deal.amount.currency),
          lastMoved: RussianFormat.date(deal.lastMovedAt.date, in: context.zone),
          lastActivity: deal.hasLastActivityAt ? RussianFormat.date(deal.lastActivityAt.date, in: context.zone) : "—",
          idle: RussianFormat.days(seconds: Double(deal.idleSeconds)))
      },
      next: stalledReply.nextPageToken.isEmpty
        ? nil : DashboardSection.losses.path + filters.query(page: stalledReply.nextPageToken),
      firstPage: filters.page == nil ? nil : DashboardSection.losses.path + filters.query())
  }

  static func lossKind(_ kind: Crm_Reporting_V1_LossKind) -> String {
    switch kind {
    case .real: "реальное возражение"
    case .stall: "«подумаю» (затягивание)"
    default: "без возражений"
    }
  }
}
