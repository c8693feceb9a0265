import CRMContracts
import CRMEvents
import CRMReview
import Foundation
import Logging
import Metrics
import PostgresNIO

/// Makes the review item of a meeting or call report, written with the activity (issue 15):
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

  /// The item of a report and its event, made before the write that claims it
  /// (`LogActivityWrite`, which writes the event only with a new claim).
  struct Made: Sendable {
    var item: Crm_Qualitycontrol_V1_ReviewItem
    var withheld: ReviewItems.Withheld?
    var event: OutboxEvent
  }

  /// Whether logging `activity` makes an item (a meeting or call with text): only then does
  /// its write read what the item needs (`ActivitySubjectRead`).
  static func reviews(_ activity: ActivityInput.NewActivity) -> Bool {
    ReviewItems.kind(activity.kind) != nil && !activity.text.isEmpty
  }

  /// The item of `activity` (nil for other kinds or an empty text), cleared of the directory's
  /// names as of `namesVersion`, of its client's and company's `names`, and carrying only the
  /// context attributes in `safeKeys`.
  func item(
    for activity: Crm_Activity_V1_ActivityRecord, company: UUID?, names clientNames: [(kind: String, name: String)],
    namesVersion: Int64, safeKeys: Set<String>, client: PostgresClient, logger: Logger
  ) async throws -> Made? {
    guard ReviewItems.kind(activity.kind) != nil, !activity.text.isEmpty else { return nil }
    var names = try await directory.current(version: namesVersion, client: client, logger: logger)
    for (kind, name) in clientNames {
      names.add(name, as: kind == "contact" ? .client : .company)
    }
    // Rep names are not known here: a rep is an id (the token's subject), no manager's name
    // reaches the activity service.
    guard
      let (item, withheld) = ReviewItems.item(
        of: activity, company: company, safeKeys: safeKeys, codes: settings.codes,
        redactor: TextRedactor(names: names))
    else { return nil }
    let event = try OutboxEvent(
      topic: Self.topic, aggregateID: item.itemID, aggregateVersion: 1, actor: Self.actor, payload: item)
    return Made(item: item, withheld: withheld, event: event)
  }

  /// Counts an item its write claimed.
  static func count(_ made: Made) {
    madeCounter.increment()
    if let withheld = made.withheld { withheldCounter(withheld).increment() }
  }
}
