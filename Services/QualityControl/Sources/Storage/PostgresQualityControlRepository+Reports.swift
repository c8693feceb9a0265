import CRMContracts
import CRMDatabase
import CRMDomain
import Foundation
import PostgresNIO

/// What the QC head (and reporting) reads: coverage, agreement, scores per rep code and week;
/// and a reviewer's own counts. Weeks are ISO weeks in UTC.
extension PostgresQualityControlRepository {
  func reviewerStats(reviewer: String) async throws -> Crm_Qualitycontrol_V1_ReviewerStats {
    let rows = try await client.query(
      """
      SELECT
        (SELECT count(*) FROM reviews WHERE reviewer = \(reviewer)),
        (SELECT count(*) FROM reviews WHERE reviewer = \(reviewer)
           AND date_trunc('week', submitted_at AT TIME ZONE 'UTC') = date_trunc('week', now() AT TIME ZONE 'UTC')),
        (SELECT count(*) FROM leases WHERE reviewer = \(reviewer) AND submitted_at IS NULL AND expires_at <= now()),
        (SELECT coalesce(min(item_id), '') FROM review_slots
           WHERE reviewer = \(reviewer) AND state = 'leased' AND lease_expires_at > now()),
        (SELECT coalesce(avg(weighted_score), 0)::double precision FROM reviews WHERE reviewer = \(reviewer))
      """,
      logger: logger)
    var stats = Crm_Qualitycontrol_V1_ReviewerStats()
    stats.reviewerCode = reviewer
    for try await (submitted, thisWeek, expired, leased, mean) in rows.decode(
      (Int64, Int64, Int64, String, Double).self)
    {
      stats.reviewsSubmitted = submitted
      stats.reviewsThisWeek = thisWeek
      stats.leasesExpired = expired
      stats.leasedItemID = leased
      stats.meanWeightedScore = (mean * 100).rounded() / 100
    }
    return stats
  }

  func coverage() async throws -> Crm_Qualitycontrol_V1_Coverage {
    // Each item in exactly one state, so that the states add up to what was received.
    let rows = try await client.query(
      """
      WITH items AS (
        SELECT i.received_at, i.reviews_required, i.reviewed_at IS NOT NULL AS reviewed,
          CASE
            WHEN i.withheld_reason IS NOT NULL THEN 'withheld'
            WHEN i.reviewed_at IS NOT NULL THEN 'reviewed'
            WHEN NOT EXISTS (SELECT 1 FROM rubric_versions) THEN 'awaiting_rubric'
            WHEN EXISTS (SELECT 1 FROM review_slots s
                         WHERE s.item_id = i.id AND s.state = 'leased' AND s.lease_expires_at > now()) THEN 'in_review'
            ELSE 'waiting'
          END AS state
        FROM review_items i
      )
      SELECT count(*),
        count(*) FILTER (WHERE state = 'withheld'),
        count(*) FILTER (WHERE state = 'awaiting_rubric'),
        count(*) FILTER (WHERE state = 'reviewed'),
        count(*) FILTER (WHERE state = 'in_review'),
        count(*) FILTER (WHERE state = 'waiting'),
        (SELECT count(*) FROM reviews),
        count(*) FILTER (WHERE reviews_required = 2),
        count(*) FILTER (WHERE reviews_required = 2 AND reviewed),
        min(received_at) FILTER (WHERE state IN ('awaiting_rubric', 'in_review', 'waiting')),
        now()
      FROM items
      """,
      logger: logger)
    var coverage = Crm_Qualitycontrol_V1_Coverage()
    coverage.doubleReviewShare = settings.doubleReviewShare
    for try await (received, withheld, awaiting, reviewed, inReview, waiting, reviews, doubles, doubled, oldest, now)
      in rows.decode((Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Date?, Date).self)
    {
      coverage.received = received
      coverage.withheld = withheld
      coverage.awaitingRubric = awaiting
      coverage.reviewed = reviewed
      coverage.inReview = inReview
      coverage.waiting = waiting
      coverage.reviewsSubmitted = reviews
      coverage.doubleReviewItems = doubles
      coverage.doubleReviewed = doubled
      if let oldest {
        coverage.oldestUnreviewedReceivedAt = oldest.timestamp
        coverage.oldestUnreviewedAgeSeconds = max(0, Int64(now.timeIntervalSince(oldest)))
      }
    }
    return coverage
  }

  func agreementPairs(rubricVersion: Int64?) async throws -> AgreementPairs {
    try await client.withConnection { connection in
      guard let rubric = try await rubric(version: rubricVersion, on: connection) else {
        throw NoSuchRubric(version: rubricVersion)
      }
      let rows = try await connection.query(
        """
        SELECT first.item_id, a.criterion, a.score, b.score
        FROM reviews first
        JOIN reviews second ON second.item_id = first.item_id AND second.pass = 2
        JOIN review_scores a ON a.review_id = first.id
        JOIN review_scores b ON b.review_id = second.id AND b.criterion = a.criterion
        WHERE first.pass = 1 AND first.rubric_version = \(rubric.version)
        ORDER BY first.item_id, a.position
        """,
        logger: logger)
      var pairs: [String: [(Int, Int)]] = [:]
      var items = Set<String>()
      for try await (item, criterion, first, second) in rows.decode((String, String, Int, Int).self) {
        items.insert(item)
        pairs[criterion, default: []].append((first, second))
      }
      return AgreementPairs(rubric: rubric, items: items.count, pairs: pairs)
    }
  }

  func repScores(repCode: String?, since: Date?, limit: Int) async throws -> (
    [Crm_Qualitycontrol_V1_RepWeekScore], truncated: Bool
  ) {
    // Each item counts once: the mean of its reviews (two for a double-reviewed item).
    let rows = try await client.query(
      """
      WITH per_item AS (
        SELECT i.rep_code, i.occurred_at, avg(r.weighted_score) AS score, count(*) AS reviews
        FROM review_items i JOIN reviews r ON r.item_id = i.id
        WHERE (\(repCode)::text IS NULL OR i.rep_code = \(repCode)::text)
          AND (\(since)::timestamptz IS NULL OR i.occurred_at >= \(since)::timestamptz)
        GROUP BY i.id
      )
      SELECT rep_code, to_char(occurred_at AT TIME ZONE 'UTC', 'IYYY-"W"IW') AS week, count(*)::bigint,
             sum(reviews)::bigint, avg(score)::double precision
      FROM per_item GROUP BY 1, 2 ORDER BY 1, 2 LIMIT \(limit + 1)
      """,
      logger: logger)
    var scores: [Crm_Qualitycontrol_V1_RepWeekScore] = []
    for try await (rep, week, items, reviews, mean) in rows.decode((String, String, Int64, Int64, Double).self) {
      scores.append(
        .with {
          $0.repCode = rep
          $0.isoWeek = week
          $0.items = items
          $0.reviews = reviews
          $0.meanWeightedScore = (mean * 100).rounded() / 100
        })
    }
    return (Array(scores.prefix(limit)), scores.count > limit)
  }
}
