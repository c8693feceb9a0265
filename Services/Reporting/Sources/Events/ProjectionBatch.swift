import Foundation

/// The changes of a batch of events folded into what each projection row becomes (pure: no
/// I/O), so a batch is written with one statement per table. Folding keeps the result of
/// applying the events one at a time, in order: a row that every event replaces keeps the last
/// event's values, a row only the first event writes (`ON CONFLICT DO NOTHING`) keeps the
/// first's, counters add up, and a deal's derived columns follow their rules across the batch.
/// Stage visits depend on the rows already stored: `StageVisitPlan` folds those.
struct ProjectionBatch: Sendable {
  /// A deal as the batch leaves it.
  struct DealFold: Equatable, Sendable {
    /// The last event's deal.
    var row: DealRow
    /// The first event's: a deal new to the table is inserted with them.
    var firstOpenedAt: Date
    var firstProbability: Int32
    /// The last move or opening time of the batch, nil when none (the stored one stays).
    var movedAt: Date?
    /// The probability of the batch's last event that left the deal open, nil when none.
    var openProbability: Int32?
  }

  /// A card as the batch leaves it.
  struct CardFold: Equatable, Sendable {
    /// The last card event's row (archived when an archiving came after it), nil when the batch
    /// only archived the card.
    var row: CardRow?
    /// Archive the stored row (only when `row` is nil).
    var archiveStored = false
  }

  var pipelines = OrderedFold<String, PipelineRow>()
  /// In order of each deal's first event: new deals take their `seq` in that order.
  var deals = OrderedFold<String, DealFold>()
  /// One per (deal, version): the first event's.
  var dealVersions = OrderedFold<DealVersionKey, DealRow>()
  /// Every step that touches stage visits, in order.
  var dealSteps: [(deal: DealRow, step: DealStep)] = []
  var leads = OrderedFold<String, LeadRow>()
  var activities: [ActivityRow] = []
  var hygiene = OrderedFold<HygieneKey, HygieneRow>()
  var reviews = OrderedFold<String, QCReviewRow>()
  var cards = OrderedFold<String, CardFold>()

  struct DealVersionKey: Hashable, Sendable {
    var dealID: String
    var version: Int64
  }

  struct HygieneKey: Hashable, Sendable {
    var managerID: String
    var day: String
  }

  /// The areas of the read models the batch changes (`ProjectionVersion`).
  var areas: Set<ProjectionVersion.Area> {
    var areas: Set<ProjectionVersion.Area> = []
    if !pipelines.isEmpty || !deals.isEmpty || !dealVersions.isEmpty || !dealSteps.isEmpty { areas.insert(.deals) }
    if !leads.isEmpty { areas.insert(.leads) }
    if !activities.isEmpty || !hygiene.isEmpty || !reviews.isEmpty || !cards.isEmpty { areas.insert(.team) }
    return areas
  }

  var isEmpty: Bool {
    pipelines.isEmpty && deals.isEmpty && leads.isEmpty && activities.isEmpty && hygiene.isEmpty && reviews.isEmpty
      && cards.isEmpty
  }

  /// Folds in the next change to apply (one whose event was not stale).
  mutating func add(_ change: ProjectedChange) {
    switch change {
    case .pipeline(let pipeline):
      // A revision lists every stage: the last one replaces the row and its stages.
      pipelines.replace(pipeline.id, with: pipeline)
    case .deal(let deal, let step):
      add(deal, step)
    case .lead(let lead):
      leads.replace(lead.id, with: lead)
    case .activity(let activity):
      activities.append(activity)
    case .hygiene(let report):
      hygiene.replace(HygieneKey(managerID: report.managerID, day: report.day), with: report)
    case .qcReview(let review):
      reviews.keepFirst(review.reviewID, review)
    case .card(let card):
      cards.update(card.contactID, default: CardFold()) { fold in
        fold.row = card
        fold.archiveStored = false
      }
    case .cardArchived(let contactID):
      cards.update(contactID, default: CardFold()) { fold in
        if fold.row != nil { fold.row?.archived = true } else { fold.archiveStored = true }
      }
    }
  }

  private mutating func add(_ deal: DealRow, _ step: DealStep) {
    let movedAt: Date? =
      switch step {
      case .opened(let at), .moved(_, _, _, let at): at
      default: nil
      }
    deals.update(
      deal.id,
      default: DealFold(row: deal, firstOpenedAt: deal.openedAt, firstProbability: deal.probability)
    ) { fold in
      fold.row = deal
      if let movedAt { fold.movedAt = movedAt }
      if deal.status == "open" { fold.openProbability = deal.probability }
    }
    dealVersions.keepFirst(DealVersionKey(dealID: deal.id, version: deal.version), deal)
    if step != .none { dealSteps.append((deal, step)) }
  }
}

/// Values by key in order of each key's first arrival.
struct OrderedFold<Key: Hashable & Sendable, Value: Sendable>: Sendable {
  private(set) var keys: [Key] = []
  private var values: [Key: Value] = [:]

  var isEmpty: Bool { keys.isEmpty }
  var count: Int { keys.count }
  /// The values, in order of their keys' first arrival.
  var ordered: [Value] { keys.map { values[$0]! } }

  subscript(key: Key) -> Value? { values[key] }

  mutating func replace(_ key: Key, with value: Value) {
    if values.updateValue(value, forKey: key) == nil { keys.append(key) }
  }

  mutating func keepFirst(_ key: Key, _ value: Value) {
    guard values[key] == nil else { return }
    values[key] = value
    keys.append(key)
  }

  mutating func update(_ key: Key, default value: @autoclosure () -> Value, _ change: (inout Value) -> Void) {
    if values[key] == nil {
      values[key] = value()
      keys.append(key)
    }
    change(&values[key]!)
  }
}
