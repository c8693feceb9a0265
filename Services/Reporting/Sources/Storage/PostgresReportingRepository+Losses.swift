import CRMContracts
import CRMDatabase
import Foundation
import PostgresNIO

/// Losses by pipeline × stage × reason × kind of the last objection (real, stall, none), per
/// manager and for the team, with amounts per currency.
extension PostgresReportingRepository {
  func losses(_ query: LossesQuery) async throws -> Crm_Reporting_V1_GetLossesReply {
    let rows = try await client.query(
      """
      SELECT d.pipeline_id, d.loss_stage_id, d.loss_reason, coalesce(d.loss_kind, 'none'),
        coalesce(d.owner_id, ''), GROUPING(d.owner_id) = 1, d.currency, count(*), sum(d.amount_minor)::bigint
      FROM deals d
      WHERE d.status = 'lost'
        AND (\(query.pipelineID)::text IS NULL OR d.pipeline_id = \(query.pipelineID)::text)
        AND (\(query.period.from)::timestamptz IS NULL OR d.closed_at >= \(query.period.from)::timestamptz)
        AND (\(query.period.to)::timestamptz IS NULL OR d.closed_at < \(query.period.to)::timestamptz)
      GROUP BY GROUPING SETS (
        (d.pipeline_id, d.loss_stage_id, d.loss_reason, d.loss_kind, d.owner_id, d.currency),
        (d.pipeline_id, d.loss_stage_id, d.loss_reason, d.loss_kind, d.currency))
      ORDER BY 1, 2, 3, 4, GROUPING(d.owner_id) DESC, 5, 7
      """, logger: logger)
    let names = try await stageNames()
    var reply = Crm_Reporting_V1_GetLossesReply()
    for try await (pipeline, stage, reason, kind, owner, team, currency, deals, amount) in rows.decode(
      (String, String, String, String, String, Bool, String, Int, Int64).self)
    {
      if team {
        reply.lost += Int64(deals)
        if kind == "real" { reply.real += Int64(deals) }
        if kind == "stall" { reply.stall += Int64(deals) }
      }
      guard team || query.visibility.shows(owner, filter: query.ownerID) else {
        continue
      }
      let lossKind: Crm_Reporting_V1_LossKind =
        switch kind {
        case "real": .real
        case "stall": .stall
        default: .none
        }
      let money = Crm_Common_V1_Money.with {
        $0.minorUnits = amount
        $0.currency = currency
      }
      if let last = reply.rows.last, last.pipelineID == pipeline, last.stageID == stage, last.reason == reason,
        last.kind == lossKind, last.ownerID == owner, last.team == team
      {
        reply.rows[reply.rows.count - 1].deals += Int64(deals)
        reply.rows[reply.rows.count - 1].amounts.append(money)
        continue
      }
      reply.rows.append(
        .with {
          $0.pipelineID = pipeline
          $0.stageID = stage
          $0.stageName = names[pipeline + "/" + stage] ?? ""
          $0.reason = reason
          $0.kind = lossKind
          $0.ownerID = owner
          $0.team = team
          $0.deals = Int64(deals)
          $0.amounts = [money]
        })
    }
    return reply
  }
}
