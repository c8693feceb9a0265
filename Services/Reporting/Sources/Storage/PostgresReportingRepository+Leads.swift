import CRMContracts
import CRMDatabase
import Foundation
import PostgresNIO

/// The lead funnel: leads by source × manager, converted, rejected (by reason) or open.
extension PostgresReportingRepository {
  func leadFunnel(_ query: LeadFunnelQuery) async throws -> Crm_Reporting_V1_GetLeadFunnelReply {
    // One row per source × manager × rejection reason (null: not rejected), with the source's
    // team rows from GROUPING SETS; the reply folds the reasons into their row.
    let rows = try await client.query(
      """
      SELECT source, coalesce(owner_id, ''), GROUPING(owner_id) = 1, rejection_reason, count(*),
        count(*) FILTER (WHERE status = 'converted'), count(*) FILTER (WHERE status = 'rejected'),
        count(*) FILTER (WHERE status = 'open')
      FROM leads
      WHERE (\(query.period.from)::timestamptz IS NULL OR created_at >= \(query.period.from)::timestamptz)
        AND (\(query.period.to)::timestamptz IS NULL OR created_at < \(query.period.to)::timestamptz)
        AND (\(query.businessLine)::text IS NULL OR business_line = \(query.businessLine)::text)
        AND (\(query.source)::text IS NULL OR source = \(query.source)::text)
      GROUP BY GROUPING SETS ((source, owner_id, rejection_reason), (source, rejection_reason))
      ORDER BY source, GROUPING(owner_id) DESC, owner_id, rejection_reason
      """, logger: logger)
    var reply = Crm_Reporting_V1_GetLeadFunnelReply()
    for try await (source, owner, team, reason, leads, converted, rejected, open) in rows.decode(
      (String, String, Bool, String?, Int, Int, Int, Int).self)
    {
      guard team || ((query.ownerID == nil || query.ownerID == owner) && query.visibility.sees(owner)) else {
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
