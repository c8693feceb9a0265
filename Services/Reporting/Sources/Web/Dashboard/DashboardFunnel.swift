import CRMContracts
import Foundation

/// The funnel per stage (the team's row, then each manager's) and the lead funnel per source.
struct FunnelSection: Sendable, Hashable {
  struct Row: Sendable, Hashable {
    var position: Int32
    var owner: String
    var who: String
    var team: Bool
    var entered: String
    var advanced: String
    var skipped: String
    var lost: String
    var won: String
    var open: String
    var toNext: RateView
    var toWon: RateView
    var median: String
  }

  struct Stage: Sendable, Hashable {
    var position: Int32
    var name: String
    var rows: [Row]
  }

  struct LeadRow: Sendable, Hashable {
    var source: String
    var owner: String
    var who: String
    var team: Bool
    var leads: String
    var converted: String
    var rejected: String
    var open: String
    var conversion: RateView
    var rejections: String
  }

  var pipelineName: String?
  /// Empty: nothing entered or passed any stage in the period (the page says so).
  var stages: [Stage]
  var leads: [LeadRow]
}

extension RateView {
  init(_ rate: Crm_Reporting_V1_Rate) {
    self.init(successes: rate.successes, trials: rate.trials, value: rate.value, lower: rate.lower, upper: rate.upper)
  }
}

extension Dashboard {
  func funnel(_ context: DashboardContext) async throws -> FunnelSection {
    let filters = context.filters
    let period = self.period(context)
    async let leads = reports.call(Method.GetLeadFunnel.descriptor, as: context.person) { service, server in
      try await service.getLeadFunnel(
        request: .with {
          if let period { $0.period = period }
          $0.source = filters.source ?? ""
          $0.ownerID = filters.managerID ?? ""
        }, context: server)
    }
    var stages: [FunnelSection.Stage] = []
    if let pipeline = context.pipeline {
      let reply = try await reports.call(Method.GetFunnel.descriptor, as: context.person) { service, server in
        try await service.getFunnel(
          request: .with {
            $0.pipelineID = pipeline.id
            if let period { $0.period = period }
            $0.kind =
              switch filters.kind {
              case .all: .unspecified
              case .consultative: .consultative
              case .active: .active
              }
            $0.source = filters.source ?? ""
            $0.ownerID = filters.managerID ?? ""
          }, context: server)
      }
      for row in reply.rows where context.shows(row.ownerID, team: row.team) {
        if stages.last?.position != row.position {
          stages.append(.init(position: row.position, name: row.stageName, rows: []))
        }
        stages[stages.count - 1].rows.append(Self.funnelRow(row, context))
      }
      // A period with no deal at any stage says so instead of a table of zeros.
      if reply.rows.allSatisfy({ !$0.team || ($0.entered == 0 && $0.skipped == 0) }) { stages = [] }
    }
    let leadRows = try await leads.rows.filter { context.shows($0.ownerID, team: $0.team) }.map { row in
      FunnelSection.LeadRow(
        source: row.source.isEmpty ? "без источника" : row.source,
        owner: DashboardContext.ownerKey(row.ownerID, team: row.team), who: context.who(row.ownerID, team: row.team),
        team: row.team, leads: RussianFormat.integer(row.leads), converted: RussianFormat.integer(row.converted),
        rejected: RussianFormat.integer(row.rejected), open: RussianFormat.integer(row.open),
        conversion: RateView(row.conversion),
        rejections: row.rejections.map { "\($0.reason.isEmpty ? "без причины" : $0.reason): \($0.leads)" }
          .joined(separator: "; "))
    }
    return FunnelSection(pipelineName: context.pipeline?.name, stages: stages, leads: leadRows)
  }

  static func funnelRow(_ row: Crm_Reporting_V1_GetFunnelReply.Row, _ context: DashboardContext) -> FunnelSection.Row {
    FunnelSection.Row(
      position: row.position, owner: DashboardContext.ownerKey(row.ownerID, team: row.team),
      who: context.who(row.ownerID, team: row.team), team: row.team, entered: RussianFormat.integer(row.entered),
      advanced: RussianFormat.integer(row.advanced), skipped: RussianFormat.integer(row.skipped),
      lost: RussianFormat.integer(row.lost), won: RussianFormat.integer(row.won), open: RussianFormat.integer(row.open),
      toNext: RateView(row.conversionToNext), toWon: RateView(row.conversionToWon),
      median: row.leftStays == 0 ? "—" : RussianFormat.days(seconds: row.medianSecondsInStage))
  }
}
