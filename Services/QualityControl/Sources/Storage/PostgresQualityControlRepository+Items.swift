import CRMDatabase
import Foundation
import PostgresNIO

/// Review items as they arrive from the topic: each item id once.
extension PostgresQualityControlRepository {
  /// Stores a checked item with the rubric version current now and its review slots (none when
  /// withheld: there is nothing to review, it is counted); an item id seen before changes nothing.
  func receive(_ item: IncomingItem, on connection: PostgresConnection) async throws {
    let required =
      item.withheldReason == nil
      ? DoubleReview.reviewsRequired(itemID: item.id, share: settings.doubleReviewShare) : 0
    let rows = try await connection.query(
      """
      INSERT INTO review_items (id, kind, occurred_at, rep_code, client_code, company_code, deal_code, redacted_text,
                                withheld_reason, context, rubric_version, reviews_required)
      VALUES (\(item.id), \(item.kind), \(item.occurredAt), \(item.repCode), \(item.clientCode), \(item.companyCode),
              \(item.dealCode), \(item.redactedText), \(item.withheldReason), \(try StoredContext.json(item.context))::jsonb,
              (SELECT max(version) FROM rubric_versions), \(required))
      ON CONFLICT (id) DO NOTHING
      RETURNING seq
      """,
      logger: logger)
    guard let seq = try await rows.decode(Int64.self).first(where: { _ in true }) else {
      logger.debug("a review item seen before", metadata: ["item": "\(item.id)"])
      return
    }
    guard required > 0 else { return }
    _ = try await connection.query(
      """
      INSERT INTO review_slots (item_id, pass, item_seq, rep_code, state)
      SELECT \(item.id), pass, \(seq), \(item.repCode), 'waiting' FROM generate_series(1, \(required)) AS pass
      """,
      logger: logger
    ).collect()
  }
}
