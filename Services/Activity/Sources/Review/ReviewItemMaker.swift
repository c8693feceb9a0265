import CRMContracts
import CRMEvents
import CRMReview
import Foundation
import Logging
import Metrics
import PostgresNIO

/// Makes the review item of a meeting or call report in the transaction that logs it (issue 15):
/// once per activity (`review_items`), onto `crm.qc.review-items` through the outbox, with the
/// actor `service:activity` (never the rep: the envelope crosses the wall too).
struct ReviewItemMaker: Sendable {
  static let topic = EventTopics.qcReviewItems
  static let actor = "service:activity"

  let settings: ReviewSettings
  let directory = DirectoryNames()

  init(settings: ReviewSettings) {
    self.settings = settings
  }

  /// Items that could not be cleared, by reason: what a head of sales sees of the reports that
  /// did not reach quality control with their text (`review_items.withheld` keeps each).
  static func withheldCounter(_ reason: ReviewItems.Withheld) -> Counter {
    Counter(label: "crm_activity_review_items_withheld_total", dimensions: [("reason", reason.rawValue)])
  }
  static let madeCounter = Counter(label: "crm_activity_review_items_total")

  /// Appends the item of `activity` (nothing for other kinds or an empty text).
  func append(for activity: Crm_Activity_V1_ActivityRecord, on connection: PostgresConnection, logger: Logger)
    async throws
  {
    guard ReviewItems.kind(activity.kind) != nil, !activity.text.isEmpty,
      let contactID = UUID(uuidString: activity.contactID), let activityID = UUID(uuidString: activity.id)
    else { return }
    var names = try await directory.current(on: connection, logger: logger)
    let companyRows = try await connection.query(
      "SELECT company_id FROM known_contact_companies WHERE contact_id = \(contactID)", logger: logger)
    let company = try await companyRows.decode(UUID.self).first { _ in true }
    let rows = try await connection.query(
      "SELECT kind, name FROM known_names WHERE id = \(contactID) OR id = \(company)", logger: logger)
    for try await (kind, name) in rows.decode((String, String).self) {
      names.add(name, as: kind == "contact" ? .client : .company)
    }
    // Rep names are not known here: a rep is an id (the token's subject), no manager's name
    // reaches the activity service.
    let safeRows = try await connection.query("SELECT key FROM attributes WHERE qc_safe", logger: logger)
    var safeKeys: Set<String> = []
    for try await key in safeRows.decode(String.self) { safeKeys.insert(key) }
    guard
      let (item, withheld) = ReviewItems.item(
        of: activity, company: company, safeKeys: safeKeys, codes: settings.codes,
        redactor: TextRedactor(names: names))
    else { return }
    let claimed = try await connection.query(
      """
      INSERT INTO review_items (activity_id, item_id, withheld) VALUES (\(activityID), \(item.itemID),
        \(withheld?.rawValue))
      ON CONFLICT DO NOTHING RETURNING 1
      """,
      logger: logger
    ).collect()
    guard !claimed.isEmpty else { return }
    try await Outbox.append(
      [
        try OutboxEvent(
          topic: Self.topic, aggregateID: item.itemID, aggregateVersion: 1, actor: Self.actor, payload: item)
      ],
      on: connection, logger: logger)
    Self.madeCounter.increment()
    if let withheld { Self.withheldCounter(withheld).increment() }
  }
}
