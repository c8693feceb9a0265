import CRMContracts
import CRMDatabase
import CRMRuntime
import Foundation
import PostgresNIO
import SwiftProtobuf

/// Open deals with no move and no activity since `idleSince` (as of `asOf`): opened by then,
/// longest idle first, paged by the keyset (last touch in microseconds, deal seq).
extension PostgresReportingRepository {
  func stalledDeals(_ query: StalledQuery, after: Page.Keyset?, limit: Int) async throws -> (
    Crm_Reporting_V1_GetStalledDealsReply, next: Page.Keyset?
  ) {
    let owner = query.visibility.onlyOwner ?? query.ownerID
    let hiddenOwner = query.visibility.onlyOwner != nil && query.ownerID != nil && query.ownerID != owner
    let afterKey = after?.key
    let afterSeq = after?.seq
    let rows = try await client.query(
      """
      WITH stalled AS (
        SELECT d.id, d.seq, d.contact_id, d.pipeline_id, d.stage_id, d.owner_id, d.amount_minor, d.currency,
          d.last_moved_at, a.last_activity_at,
          greatest(d.last_moved_at, coalesce(a.last_activity_at, d.last_moved_at)) AS touched
        FROM deals d LEFT JOIN deal_activity a ON a.deal_id = d.id
        WHERE d.status = 'open' AND d.opened_at <= \(query.asOf)
          AND (\(query.pipelineID)::text IS NULL OR d.pipeline_id = \(query.pipelineID)::text)
          AND (\(query.stageID)::text IS NULL OR d.stage_id = \(query.stageID)::text)
          AND (\(owner)::text IS NULL OR d.owner_id = \(owner)::text)
          AND NOT \(hiddenOwner)
      )
      SELECT id, seq, contact_id, pipeline_id, stage_id, owner_id, amount_minor, currency, last_moved_at,
        last_activity_at, touched, (extract(epoch FROM touched) * 1000000)::bigint
      FROM stalled
      WHERE touched <= \(query.idleSince)
        AND (\(afterKey)::bigint IS NULL
          OR ((extract(epoch FROM touched) * 1000000)::bigint, seq) > (\(afterKey)::bigint, \(afterSeq)::bigint))
      ORDER BY touched, seq
      LIMIT \(limit + 1)
      """, logger: logger)
    var reply = Crm_Reporting_V1_GetStalledDealsReply()
    var positions: [Page.Keyset] = []
    for try await (id, seq, contact, pipeline, stage, owner, amount, currency, moved, activity, touched, key)
      in rows.decode(
        (String, Int64, String, String, String, String, Int64, String, Date, Date?, Date, Int64).self)
    {
      positions.append(Page.Keyset(key: key, seq: seq))
      reply.deals.append(
        .with {
          $0.dealID = id
          $0.contactID = contact
          $0.pipelineID = pipeline
          $0.stageID = stage
          $0.ownerID = owner
          $0.amount = .with {
            $0.minorUnits = amount
            $0.currency = currency
          }
          $0.lastMovedAt = Google_Protobuf_Timestamp(date: moved)
          if let activity { $0.lastActivityAt = Google_Protobuf_Timestamp(date: activity) }
          $0.idleSeconds = Int64(query.asOf.timeIntervalSince(touched).rounded(.down))
        })
    }
    var next: Page.Keyset?
    if reply.deals.count > limit {
      reply.deals.removeLast()
      next = positions[limit - 1]
    }
    reply.byStage = try await stalledByStage(query)
    return (reply, next)
  }

  /// The team's stalled deals per stage (every manager's, as filtered by pipeline and stage).
  private func stalledByStage(_ query: StalledQuery) async throws -> [Crm_Reporting_V1_GetStalledDealsReply.StageCount]
  {
    let rows = try await client.query(
      """
      SELECT d.pipeline_id, d.stage_id, coalesce(min(s.name), ''), count(*)
      FROM deals d LEFT JOIN deal_activity a ON a.deal_id = d.id
      LEFT JOIN pipeline_stages s ON s.pipeline_id = d.pipeline_id AND s.stage_id = d.stage_id
      WHERE d.status = 'open' AND d.opened_at <= \(query.asOf)
        AND (\(query.pipelineID)::text IS NULL OR d.pipeline_id = \(query.pipelineID)::text)
        AND (\(query.stageID)::text IS NULL OR d.stage_id = \(query.stageID)::text)
        AND greatest(d.last_moved_at, coalesce(a.last_activity_at, d.last_moved_at)) <= \(query.idleSince)
      GROUP BY d.pipeline_id, d.stage_id, s.position
      ORDER BY d.pipeline_id, s.position NULLS LAST, d.stage_id
      """, logger: logger)
    var counts: [Crm_Reporting_V1_GetStalledDealsReply.StageCount] = []
    for try await (pipeline, stage, name, deals) in rows.decode((String, String, String, Int).self) {
      counts.append(
        .with {
          $0.pipelineID = pipeline
          $0.stageID = stage
          $0.stageName = name
          $0.deals = Int64(deals)
        })
    }
    return counts
  }
}
