import Foundation

/// The stage visits a batch of deal steps opens and closes, worked out against the visits
/// already stored for those deals (pure: the caller reads them and writes `writes`). The rules
/// are the one-event ones: an opening or a move enters a stage only if the deal has no visit of
/// it yet (skipped stages get a visit of no length, closed at once); a move closes the stage left
/// as advanced, a win or loss closes the current one, either only while that visit is open.
struct StageVisitPlan: Sendable {
  struct Key: Hashable, Sendable {
    var dealID: String
    var stageID: String
  }

  /// A visit to insert or whose end to change (an existing row keeps every other column: the
  /// write sets only `left_at` and `outcome` on it).
  struct Visit: Equatable, Sendable {
    var dealID: String
    var stageID: String
    var pipelineID: String
    var ownerID: String
    var kind: String
    var source: String
    var enteredAt: Date
    var leftAt: Date?
    var outcome: String
  }

  /// Each visit's outcome as it now stands: the stored ones, then as the steps change them.
  private var outcomes: [Key: String]
  /// Visits entered or ended by the steps, in order of first change.
  private(set) var writes = OrderedFold<Key, Visit>()

  /// `stored`: the outcome of each visit already stored for the batch's deals.
  init(stored: [Key: String]) {
    outcomes = stored
  }

  mutating func apply(_ deal: DealRow, _ step: DealStep) {
    switch step {
    case .none:
      return
    case .opened(let at):
      enter(deal, deal.stageID, at: at, outcome: "open")
    case .moved(let from, let to, let skipped, let at):
      leave(deal, from, at: at, outcome: "advanced")
      for stage in skipped { enter(deal, stage, at: at, outcome: "skipped") }
      enter(deal, to, at: at, outcome: "open")
    case .closed(let outcome, let at):
      leave(deal, deal.stageID, at: at, outcome: outcome)
    }
  }

  /// A first visit of `stage`; none when the deal has one (entered before, or passed over).
  private mutating func enter(_ deal: DealRow, _ stage: String, at: Date, outcome: String) {
    let key = Key(dealID: deal.id, stageID: stage)
    guard outcomes[key] == nil else { return }
    outcomes[key] = outcome
    writes.replace(
      key,
      with: Visit(
        dealID: deal.id, stageID: stage, pipelineID: deal.pipelineID, ownerID: deal.ownerID, kind: deal.kind,
        source: deal.source, enteredAt: at, leftAt: outcome == "skipped" ? at : nil, outcome: outcome))
  }

  /// Ends the open visit of `stage`; nothing when it is not open (or there is none).
  private mutating func leave(_ deal: DealRow, _ stage: String, at: Date, outcome: String) {
    let key = Key(dealID: deal.id, stageID: stage)
    guard outcomes[key] == "open" else { return }
    outcomes[key] = outcome
    // A stored visit: only its end is written; the other columns here are not.
    var visit =
      writes[key]
      ?? Visit(
        dealID: deal.id, stageID: stage, pipelineID: deal.pipelineID, ownerID: deal.ownerID, kind: deal.kind,
        source: deal.source, enteredAt: at, leftAt: nil, outcome: "open")
    visit.leftAt = at
    visit.outcome = outcome
    writes.replace(key, with: visit)
  }
}
