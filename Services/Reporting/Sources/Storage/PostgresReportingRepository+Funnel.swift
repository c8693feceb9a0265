import CRMContracts
import CRMDatabase
import Foundation
import PostgresNIO

/// The funnel per stage × manager, with the team row, from the stage visits.
extension PostgresReportingRepository {
  func funnel(_ query: FunnelQuery) async throws -> Crm_Reporting_V1_GetFunnelReply {
    guard let stages = try await stages(of: query.pipelineID) else {
      throw UnknownPipeline(pipelineID: query.pipelineID)
    }
    // Team rows (GROUPING SETS' (stage)) cover every manager; the owner filter and the
    // caller's visibility thin only the managers' rows.
    let rows = try await client.query(
      """
      SELECT s.stage_id, coalesce(s.owner_id, ''), GROUPING(s.owner_id) = 1,
        count(*) FILTER (WHERE s.outcome <> 'skipped'),
        count(*) FILTER (WHERE s.outcome = 'advanced'),
        count(*) FILTER (WHERE s.outcome = 'lost'),
        count(*) FILTER (WHERE s.outcome = 'won'),
        count(*) FILTER (WHERE s.outcome = 'open'),
        count(*) FILTER (WHERE s.outcome = 'skipped'),
        count(*) FILTER (WHERE s.outcome <> 'skipped' AND d.status = 'won'),
        count(*) FILTER (WHERE s.outcome <> 'skipped' AND d.status <> 'open'),
        count(*) FILTER (WHERE s.outcome IN ('advanced', 'lost', 'won')),
        coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.left_at - s.entered_at)::double precision)
          FILTER (WHERE s.outcome IN ('advanced', 'lost', 'won')), 0)
      FROM stage_visits s JOIN deals d ON d.id = s.deal_id
      WHERE s.pipeline_id = \(query.pipelineID)
        AND (\(query.period.from)::timestamptz IS NULL OR s.entered_at >= \(query.period.from)::timestamptz)
        AND (\(query.period.to)::timestamptz IS NULL OR s.entered_at < \(query.period.to)::timestamptz)
        AND (\(query.kind)::text IS NULL OR s.kind = \(query.kind)::text)
        AND (\(query.source)::text IS NULL OR s.source = \(query.source)::text)
      GROUP BY GROUPING SETS ((s.stage_id, s.owner_id), (s.stage_id))
      """, logger: logger)
    var byStage: [String: [Crm_Reporting_V1_GetFunnelReply.Row]] = [:]
    for try await (stage, owner, team, entered, advanced, lost, won, open, skipped, wonLater, closed, left, median)
      in rows.decode(
        (String, String, Bool, Int, Int, Int, Int, Int, Int, Int, Int, Int, Double).self)
    {
      guard team || ((query.ownerID == nil || query.ownerID == owner) && query.visibility.sees(owner)) else {
        continue
      }
      byStage[stage, default: []].append(
        .with {
          $0.stageID = stage
          $0.ownerID = owner
          $0.team = team
          $0.entered = Int64(entered)
          $0.advanced = Int64(advanced)
          $0.lost = Int64(lost)
          $0.won = Int64(won)
          $0.open = Int64(open)
          $0.skipped = Int64(skipped)
          $0.conversionToNext = WilsonInterval(successes: advanced, trials: entered - open).rate
          $0.conversionToWon = WilsonInterval(successes: wonLater, trials: closed).rate
          $0.leftStays = Int64(left)
          $0.medianSecondsInStage = median
        })
    }
    // Every stage of the pipeline in order, with its team row even when nobody stood there;
    // then stages the visits name that the pipeline no longer lists.
    var ordered = stages
    for stage in byStage.keys.sorted() where !stages.contains(where: { $0.id == stage }) {
      ordered.append((stage, "", 0))
    }
    var reply = Crm_Reporting_V1_GetFunnelReply()
    reply.pipelineID = query.pipelineID
    for stage in ordered {
      var rows = byStage[stage.id] ?? []
      if !rows.contains(where: \.team) {
        rows.append(
          .with {
            $0.stageID = stage.id
            $0.team = true
            $0.conversionToNext = WilsonInterval(successes: 0, trials: 0).rate
            $0.conversionToWon = WilsonInterval(successes: 0, trials: 0).rate
          })
      }
      rows.sort { ($0.team ? 0 : 1, $0.ownerID) < ($1.team ? 0 : 1, $1.ownerID) }
      for var row in rows {
        row.stageName = stage.name
        row.position = stage.position
        reply.rows.append(row)
      }
    }
    return reply
  }
}
