import CRMContracts
import CRMDatabase
import Foundation
import PostgresNIO

/// The lead funnel: leads by source × manager, converted, rejected (by reason) or open.
extension PostgresReportingRepository {
  func leadFunnel(_ query: LeadFunnelQuery) async throws -> Crm_Reporting_V1_GetLeadFunnelReply {
    // One row per source × manager × rejection reason (null: not rejected), with the source's
    // team rows from GROUPING SETS; the reply folds the reasons into their row. The whole months
    // of the period come from the cells, the days at its ends from the leads (`MonthSplit`).
    let split = MonthSplit(query.period)
    let edge = { (index: Int) in index < split.edges.count ? split.edges[index] : nil }
    let rows = try await client.query(
      """
      WITH picked AS (
        SELECT source, owner_id, CASE WHEN has_reason THEN reason END AS rejection_reason, status, leads AS n
        FROM lead_cells
        WHERE \(split.months != nil)
          AND CASE WHEN \(split.allTime) THEN month = '-infinity'
            ELSE month > '-infinity'
              AND (\(split.months?.from)::timestamptz IS NULL
                OR month >= (\(split.months?.from)::timestamptz AT TIME ZONE 'UTC')::date)
              AND (\(split.months?.to)::timestamptz IS NULL
                OR month < (\(split.months?.to)::timestamptz AT TIME ZONE 'UTC')::date) END
          AND (\(query.businessLine)::text IS NULL OR business_line = \(query.businessLine)::text)
          AND (\(query.source)::text IS NULL OR source = \(query.source)::text)
        UNION ALL
        SELECT source, owner_id, rejection_reason, status, 1 FROM leads
        WHERE ((created_at >= \(edge(0)?.from)::timestamptz AND created_at < \(edge(0)?.to)::timestamptz)
            OR (created_at >= \(edge(1)?.from)::timestamptz AND created_at < \(edge(1)?.to)::timestamptz))
          AND (\(query.businessLine)::text IS NULL OR business_line = \(query.businessLine)::text)
          AND (\(query.source)::text IS NULL OR source = \(query.source)::text)
      )
      SELECT source, coalesce(owner_id, ''), GROUPING(owner_id) = 1, rejection_reason, sum(n)::bigint,
        coalesce(sum(n) FILTER (WHERE status = 'converted'), 0)::bigint,
        coalesce(sum(n) FILTER (WHERE status = 'rejected'), 0)::bigint,
        coalesce(sum(n) FILTER (WHERE status = 'open'), 0)::bigint
      FROM picked
      GROUP BY GROUPING SETS ((source, owner_id, rejection_reason), (source, rejection_reason))
      HAVING sum(n) > 0
      ORDER BY source, GROUPING(owner_id) DESC, owner_id, rejection_reason
      """, logger: logger)
    var reply = Crm_Reporting_V1_GetLeadFunnelReply()
    for try await (source, owner, team, reason, leads, converted, rejected, open) in rows.decode(
      (String, String, Bool, String?, Int, Int, Int, Int).self)
    {
      guard team || query.visibility.shows(owner, filter: query.ownerID) else {
        continue
      }
      if reply.rows.last.map({ $0.source != source || $0.ownerID != owner || $0.team != team }) ?? true {
        reply.rows.append(
          .with {
            $0.source = source
            $0.ownerID = owner
            $0.team = team
          })
      }
      let index = reply.rows.count - 1
      reply.rows[index].leads += Int64(leads)
      reply.rows[index].converted += Int64(converted)
      reply.rows[index].rejected += Int64(rejected)
      reply.rows[index].open += Int64(open)
      if let reason {
        reply.rows[index].rejections.append(
          .with {
            $0.reason = reason
            $0.leads = Int64(rejected)
          })
      }
    }
    for index in reply.rows.indices {
      let row = reply.rows[index]
      reply.rows[index].conversion =
        WilsonInterval(successes: Int(row.converted), trials: Int(row.converted + row.rejected)).rate
    }
    return reply
  }
}
