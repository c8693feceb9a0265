import CRMContracts
import CRMDatabase
import CRMDomain
import Foundation
import PostgresNIO

/// The queue (100%: every slot of every item gets a review). A reviewer holds one lease at a
/// time; his row in `reviewers` serialises his own calls, and slots are taken with FOR UPDATE
/// SKIP LOCKED, so replicas never lease one slot twice and never wait on each other.
extension PostgresQualityControlRepository {
  func nextItem(reviewer: String) async throws -> Crm_Qualitycontrol_V1_NextItemReply {
    try await client.withTransaction(logger: logger) { connection in
      _ = try await connection.query(
        "INSERT INTO reviewers (code) VALUES (\(reviewer)) ON CONFLICT DO NOTHING", logger: logger
      ).collect()
      let last =
        try await connection.query(
          "SELECT last_rep_code FROM reviewers WHERE code = \(reviewer) FOR UPDATE", logger: logger
        ).decode(String?.self).first(where: { _ in true }) ?? nil
      // A repeated NextItem gives back the lease he holds (no hoarding, no lost lease).
      let running = try await connection.query(
        """
        SELECT lease_id FROM review_slots
        WHERE reviewer = \(reviewer) AND state = 'leased' AND lease_expires_at > now() LIMIT 1
        """,
        logger: logger)
      if let lease = try await running.decode(UUID.self).first(where: { _ in true }) {
        return try await leased(lease, on: connection)
      }
      guard try await rubric(version: nil, on: connection) != nil else {
        return .with { $0.emptyBecause = "no rubric is defined yet: the QC head defines one first" }
      }
      // The oldest slot he may take: waiting, or leased to someone whose lease ran out; not of
      // the rep of his last item; not of an item he reviews or reviewed in its other pass.
      let candidates = try await connection.query(
        """
        SELECT s.item_id, s.pass, s.rep_code FROM review_slots s
        WHERE s.state <> 'done' AND (s.state = 'waiting' OR s.lease_expires_at <= now())
          AND s.rep_code IS DISTINCT FROM \(last)
          AND NOT EXISTS (SELECT 1 FROM review_slots o
                          WHERE o.item_id = s.item_id AND o.pass <> s.pass AND o.reviewer = \(reviewer))
        ORDER BY s.item_seq, s.pass
        LIMIT 1
        FOR UPDATE OF s SKIP LOCKED
        """,
        logger: logger)
      guard
        let (itemID, pass, repCode) = try await candidates.decode((String, Int, String).self)
          .first(where: { _ in true })
      else {
        let reason = try await emptyBecause(last: last, on: connection)
        return .with { $0.emptyBecause = reason }
      }
      let lease = UUID()
      _ = try await connection.query(
        """
        WITH granted AS (
          INSERT INTO leases (id, item_id, pass, reviewer, expires_at)
          VALUES (\(lease), \(itemID), \(pass), \(reviewer), now() + make_interval(secs => \(Double(settings.leaseSeconds))))
          RETURNING expires_at
        )
        UPDATE review_slots SET state = 'leased', lease_id = \(lease), reviewer = \(reviewer),
          lease_expires_at = (SELECT expires_at FROM granted)
        WHERE item_id = \(itemID) AND pass = \(pass)
        """,
        logger: logger
      ).collect()
      _ = try await connection.query(
        "UPDATE reviewers SET last_rep_code = \(repCode) WHERE code = \(reviewer)", logger: logger
      ).collect()
      // An item that came before any rubric (and raced the first definition) takes the first.
      _ = try await connection.query(
        """
        UPDATE review_items SET rubric_version = (SELECT min(version) FROM rubric_versions)
        WHERE id = \(itemID) AND rubric_version IS NULL
        """,
        logger: logger
      ).collect()
      return try await leased(lease, on: connection)
    }
  }

  /// The reply for a lease: the item as a reviewer may see it and its rubric version.
  private func leased(_ lease: UUID, on connection: PostgresConnection) async throws
    -> Crm_Qualitycontrol_V1_NextItemReply
  {
    let rows = try await connection.query(
      """
      SELECT l.expires_at, i.id, i.kind, i.occurred_at, i.rep_code, i.client_code, i.company_code, i.deal_code,
             i.redacted_text, i.context::text, i.rubric_version
      FROM leases l JOIN review_items i ON i.id = l.item_id WHERE l.id = \(lease)
      """,
      logger: logger)
    guard
      let (expires, id, kind, occurredAt, rep, client, company, deal, text, context, version) = try await rows.decode(
        (Date, String, String, Date, String, String, String, String, String, String, Int64?).self
      ).first(where: { _ in true })
    else { throw RuleBroken(description: "the lease \(lease.text) was not stored") }
    guard let rubric = try await rubric(version: version, on: connection) else {
      throw RuleBroken(description: "item \(id) has no rubric version")
    }
    let attributes = try StoredContext.context(context)
    return .with {
      $0.leaseID = lease.text
      $0.leaseExpiresAt = expires.timestamp
      $0.item = .with {
        $0.itemID = id
        $0.kind = kind == "call" ? .call : .meeting
        $0.occurredAt = occurredAt.timestamp
        $0.repCode = rep
        $0.clientCode = client
        $0.companyCode = company
        $0.dealCode = deal
        $0.redactedText = text
        $0.context = attributes
      }
      $0.rubric = rubric
    }
  }

  /// Why a reviewer gets nothing: the queue is empty, or what waits is not his to take.
  private func emptyBecause(last: String?, on connection: PostgresConnection) async throws -> String {
    let open =
      try await connection.query(
        """
        SELECT count(*) FROM review_slots
        WHERE state <> 'done' AND (state = 'waiting' OR lease_expires_at <= now())
        """,
        logger: logger
      ).decode(Int.self).first(where: { _ in true }) ?? 0
    guard open > 0 else { return "the queue is empty: every item is reviewed or leased to a reviewer" }
    return "\(open) review(s) wait, none of them yours to take now: they are of rep code \(last ?? "-") "
      + "(whose report you took last), of items you review in their other pass, or being leased by another reviewer"
  }
}
