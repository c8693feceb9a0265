import CRMContracts
import CRMDatabase
import CRMReview
import Foundation
import PostgresNIO
import SwiftProtobuf

/// QC scores per rep code over time, mapped back to managers (`RepDirectory`), with coverage
/// against the meetings and calls each logged.
extension PostgresReportingRepository {
  /// Every manager id reporting knows of: owners of deals, leads and cards, authors of
  /// activities, managers of end-of-day reports. Deals' owners from the forecast's sums (a deal is
  /// open or closed), the others by a skip scan of an index led by the id: one probe per manager,
  /// not a read of a million rows.
  func knownManagers() async throws -> Set<String> {
    func distinct(_ table: String, _ column: String) -> String {
      """
      SELECT id FROM (
        WITH RECURSIVE ids (id) AS (
          SELECT min(\(column)) FROM \(table)
          UNION ALL SELECT (SELECT min(\(column)) FROM \(table) WHERE \(column) > ids.id) FROM ids WHERE ids.id IS NOT NULL)
        SELECT id FROM ids WHERE id IS NOT NULL) AS \(table)_ids
      """
    }
    let rows = try await client.query(
      PostgresQuery(
        unsafeSQL: """
          SELECT owner_id FROM forecast_open WHERE deals <> 0
          UNION SELECT owner_id FROM forecast_closed WHERE closed <> 0
          UNION \(distinct("leads", "owner_id")) UNION \(distinct("card_completeness", "owner_id"))
          UNION \(distinct("activity_counts", "author_id")) UNION \(distinct("hygiene_reports", "manager_id"))
          """), logger: logger)
    var ids: Set<String> = []
    for try await id in rows.decode(String.self) { ids.insert(id) }
    return ids
  }

  func qualityScores(_ query: QualityQuery) async throws -> Crm_Reporting_V1_GetQualityScoresReply {
    // A manager sees his own code's rows only: his id is the one to code (no scan of every id).
    var known: Set<String> = []
    if let only = query.visibility.onlyOwner { known.insert(only) } else { known = try await knownManagers() }
    if let asked = query.managerID { known.insert(asked) }
    let directory = RepDirectory(codes: query.codes, managerIDs: known)
    let unit = query.bucket.rawValue
    let rows = try await client.query(
      """
      SELECT coalesce(rep_code, ''), GROUPING(rep_code) = 1, GROUPING(bucket) = 1,
        coalesce(bucket, 'epoch'::timestamptz), count(*), count(DISTINCT item_id), avg(weighted_score)
      FROM (
        SELECT rep_code, item_id, weighted_score,
          date_trunc(\(unit), reviewed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS bucket
        FROM qc_reviews
        WHERE (\(query.period.from)::timestamptz IS NULL OR reviewed_at >= \(query.period.from)::timestamptz)
          AND (\(query.period.to)::timestamptz IS NULL OR reviewed_at < \(query.period.to)::timestamptz)) r
      GROUP BY GROUPING SETS ((rep_code, bucket), (rep_code), (bucket), ())
      ORDER BY 2 DESC, 1, 3 DESC, 4
      """, logger: logger)
    var reps: [String: Crm_Reporting_V1_GetQualityScoresReply.Rep] = ["": .with { $0.team = true }]
    for try await (code, team, whole, bucket, reviews, items, mean) in rows.decode(
      (String, Bool, Bool, Date, Int64, Int64, Double?).self)
    {
      let manager = team ? nil : directory.manager(of: code)
      if !team {
        // An unknown code is nobody's own row: only those who see everyone get it.
        if let manager {
          guard query.managerID == nil || query.managerID == manager, query.visibility.sees(manager) else { continue }
        } else if query.managerID != nil || query.visibility.onlyOwner != nil {
          continue
        }
      }
      let key = team ? "" : code
      if reps[key] == nil {
        reps[key] = .with {
          $0.repCode = code
          $0.managerID = manager ?? ""
        }
      }
      if whole {
        reps[key]?.reviews = reviews
        reps[key]?.itemsReviewed = items
        reps[key]?.meanScore = mean ?? 0
      } else {
        reps[key]?.buckets.append(
          .with {
            $0.start = Google_Protobuf_Timestamp(date: bucket)
            $0.reviews = reviews
            $0.meanScore = mean ?? 0
          })
      }
    }
    // Coverage: the meetings and calls logged in the period, per author and for the team.
    let logged = try await client.query(
      """
      SELECT author_id, sum(activities)::bigint FROM activity_counts
      WHERE kind IN ('meeting', 'call')
        AND (\(query.period.from)::timestamptz IS NULL
          OR day::timestamp AT TIME ZONE 'UTC' >= \(query.period.from)::timestamptz)
        AND (\(query.period.to)::timestamptz IS NULL
          OR day::timestamp AT TIME ZONE 'UTC' < \(query.period.to)::timestamptz)
      GROUP BY author_id
      """, logger: logger)
    let codes = Dictionary(uniqueKeysWithValues: reps.map { ($0.value.managerID, $0.key) }.filter { !$0.0.isEmpty })
    for try await (author, count) in logged.decode((String, Int64).self) {
      reps[""]?.reportsLogged += count
      if let key = codes[author] {
        reps[key]?.reportsLogged = count
      } else if query.managerID == nil || query.managerID == author, query.visibility.sees(author),
        let code = query.codes?.code(.rep, author)
      {
        // Reports logged, none reviewed: coverage 0 is worth showing.
        reps[code] = .with {
          $0.repCode = code
          $0.managerID = author
          $0.reportsLogged = count
        }
      }
    }
    return .with {
      $0.reps = reps.values.map { row in
        var row = row
        row.coverage = row.reportsLogged == 0 ? 0 : Double(row.itemsReviewed) / Double(row.reportsLogged)
        return row
      }.sorted { Self.order($0) < Self.order($1) }
    }
  }

  /// Team first, then known managers by id, then unknown codes by code.
  static func order(_ rep: Crm_Reporting_V1_GetQualityScoresReply.Rep) -> (Int, String) {
    rep.team ? (0, "") : rep.managerID.isEmpty ? (2, rep.repCode) : (1, rep.managerID)
  }
}
