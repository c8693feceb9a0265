import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO

/// Reviews: one per lease, checked against the rubric version of the item; a repeated request
/// (same request id) answers the first review.
extension PostgresQualityControlRepository {
  func submitReview(itemID: String, leaseID: UUID, scores: [Crm_Qualitycontrol_V1_Score], by principal: Principal)
    async throws -> Crm_Qualitycontrol_V1_Review
  {
    let reviewer = principal.subject
    return try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        let pass = try await checkLease(leaseID, item: itemID, reviewer: reviewer, on: connection)
        let item = try await connection.query(
          """
          SELECT rubric_version, rep_code, client_code, company_code, deal_code, occurred_at
          FROM review_items WHERE id = \(itemID)
          FOR UPDATE
          """,
          logger: logger)
        guard
          let (version, rep, clientCode, company, deal, occurredAt) = try await item.decode(
            (Int64?, String, String, String, String, Date).self
          ).first(where: { _ in true }),
          let version, let rubric = try await rubric(version: version, on: connection)
        else { throw RuleBroken(description: "item \(itemID) has no rubric version") }
        let scored = try ScoreSheet.check(scores, against: rubric.checkedCriteria, version: version)
        let weighted = ScoreSheet.weighted(scored)
        let id = UUID()
        let submittedAt =
          try await connection.query(
            """
            INSERT INTO reviews (id, lease_id, item_id, pass, reviewer, rubric_version, weighted_score)
            VALUES (\(id), \(leaseID), \(itemID), \(pass), \(reviewer), \(version), \(weighted))
            RETURNING submitted_at
            """,
            logger: logger
          ).decode(Date.self).first(where: { _ in true }) ?? Date()
        _ = try await connection.query(
          """
          INSERT INTO review_scores (review_id, position, criterion, score)
          SELECT \(id), s.position, s.criterion, s.score
          FROM unnest(\(Array(0..<scored.count))::int[], \(scored.map(\.criterion.key))::text[],
                      \(scored.map(\.value))::int[]) AS s (position, criterion, score)
          """,
          logger: logger
        ).collect()
        _ = try await connection.query(
          """
          WITH lease AS (UPDATE leases SET submitted_at = now() WHERE id = \(leaseID))
          UPDATE review_slots SET state = 'done', lease_expires_at = NULL WHERE item_id = \(itemID) AND pass = \(pass)
          """,
          logger: logger
        ).collect()
        // The item is reviewed once its last required review is in. The item's row lock (taken
        // above) queues the other pass's submission behind this one, so one of them sees both
        // slots done; without it each saw the other's slot still leased.
        _ = try await connection.query(
          """
          UPDATE review_items SET reviewed_at = now()
          WHERE id = \(itemID) AND NOT EXISTS (SELECT 1 FROM review_slots WHERE item_id = \(itemID) AND state <> 'done')
          """,
          logger: logger
        ).collect()
        let review = Crm_Qualitycontrol_V1_Review.with {
          $0.id = id.text
          $0.itemID = itemID
          $0.leaseID = leaseID.text
          $0.reviewerCode = reviewer
          $0.pass = Int32(pass)
          $0.rubricVersion = version
          $0.scores = scored.map { score in
            .with {
              $0.criterion = score.criterion.key
              $0.value = Int32(score.value)
            }
          }
          $0.weightedScore = weighted
          $0.submittedAt = submittedAt.timestamp
        }
        try await publish(
          Crm_Qualitycontrol_V1_ReviewSubmitted.with {
            $0.review = review
            $0.repCode = rep
            $0.clientCode = clientCode
            $0.companyCode = company
            $0.dealCode = deal
            $0.occurredAt = occurredAt.timestamp
          }, aggregateID: itemID, version: Int64(pass), actor: principal.description, on: connection)
        try await RequestReplies.record(review, key: key, on: connection, logger: logger)
        return review
      }
    }
  }

  /// The lease's pass, when `reviewer` may submit it now: his, for this item, not submitted,
  /// not run out (and its slot not taken by another since).
  private func checkLease(_ leaseID: UUID, item itemID: String, reviewer: String, on connection: PostgresConnection)
    async throws -> Int
  {
    let rows = try await connection.query(
      """
      SELECT l.item_id, l.pass, l.reviewer, l.expires_at, l.submitted_at IS NOT NULL, l.expires_at <= now(),
             s.lease_id IS NOT DISTINCT FROM l.id AND s.state = 'leased'
      FROM leases l JOIN review_slots s ON s.item_id = l.item_id AND s.pass = l.pass
      WHERE l.id = \(leaseID)
      FOR UPDATE OF l, s
      """,
      logger: logger)
    guard
      let (leasedItem, pass, holder, expires, submitted, expired, current) = try await rows.decode(
        (String, Int, String, Date, Bool, Bool, Bool).self
      ).first(where: { _ in true })
    else { throw NotFound(entity: "lease", id: leaseID.text) }
    guard leasedItem == itemID else {
      throw InvalidField(field: "lease_id", reason: "lease \(leaseID.text) is not of item \(itemID)")
    }
    guard holder == reviewer else { throw NotLeasedToYou(itemID: itemID, caller: reviewer) }
    if submitted { throw LeaseUsed(leaseID: leaseID.text) }
    guard !expired, current else {
      throw LeaseExpired(leaseID: leaseID.text, expiredAt: ISO8601DateFormatter().string(from: expires))
    }
    return pass
  }
}
