import CRMContracts
import CRMEvents
import Foundation
import SwiftProtobuf

@testable import ReportingService

/// A random history of a sales department from a seed, for comparing batchings: deals opened,
/// moved (skipping now and then), objected to, estimated, won and lost; activities, leads, cards
/// edited and archived, end-of-day reports and QC reviews — and what a broker and producers do
/// to it: copies of events under new ids arriving later (stale), old versions arriving late,
/// and types reporting does not know.
struct ProjectionRandomHistory {
  var random: SeededGenerator
  let flow = SalesFlow()
  private(set) var events: [ReceivedEvent] = []

  init(seed: UInt64) { random = SeededGenerator(seed: seed) }

  /// `steps` changes after the pipeline's definition.
  mutating func make(steps: Int) throws -> [ReceivedEvent] {
    events = [try flow.pipelineDefined()]
    var open: [SalesFlow.DealState] = []
    var stageOf: [String: Int] = [:]
    var cards: [Crm_Contacts_V1_Contact] = []
    var time = SalesFlow.day(0)
    for _ in 0..<steps {
      time = time.addingTimeInterval(Double(Int.random(in: 60...7_200, using: &random)))
      switch Int.random(in: 0..<100, using: &random) {
      case 0..<18:
        let (state, opened) = try openDeal(at: time)
        open.append(state)
        stageOf[state.deal.id] = 0
        events.append(opened)
      case 18..<40 where !open.isEmpty:
        let state = open.randomElement(using: &random)!
        let stage = stageOf[state.deal.id]!
        guard stage < flow.stages.count - 1 else { continue }
        let skip = stage < flow.stages.count - 2 && Bool.random(using: &random)
        let target = stage + (skip ? 2 : 1)
        stageOf[state.deal.id] = target
        events.append(try flow.move(state, to: target, skipping: skip ? [stage + 1] : [], at: time))
      case 40..<46 where !open.isEmpty:
        let state = open.randomElement(using: &random)!
        events.append(try flow.object(state, Bool.random(using: &random) ? .real : .stall, at: time).1)
      case 46..<52 where !open.isEmpty:
        let state = open.randomElement(using: &random)!
        events.append(try flow.estimate(state, Int32.random(in: 5...95, using: &random), at: time))
      case 52..<62 where !open.isEmpty:
        let index = Int.random(in: 0..<open.count, using: &random)
        let state = open.remove(at: index)
        events.append(
          Bool.random(using: &random)
            ? try flow.win(state, at: time) : try flow.lose(state, reason: "price", after: nil, at: time))
      case 62..<75:
        let deal = open.randomElement(using: &random)?.deal.id ?? "no-deal"
        events.append(try SalesFlow.activity(on: deal, by: "m-\(Int.random(in: 1...3, using: &random))", at: time))
      case 75..<80:
        events += try SalesFlow.lead(
          owner: "m-1", source: "site", status: Bool.random(using: &random) ? .converted : .rejected, reason: "no",
          at: time)
      case 80..<88:
        cards = try editCard(cards, at: time)
      case 88..<90:
        events.append(try hygiene(at: time))
      case 90..<92:
        events.append(try SalesFlow.review())
      default:
        disturb()
      }
    }
    return events
  }

  private mutating func openDeal(at time: Date) throws -> (SalesFlow.DealState, ReceivedEvent) {
    let state = SalesFlow.DealState(
      .with {
        $0.id = UUID().uuidString.lowercased()
        $0.contactID = UUID().uuidString.lowercased()
        $0.pipelineID = flow.pipelineID
        $0.stageID = flow.stages[0]
        $0.ownerID = "m-\(Int.random(in: 1...3, using: &random))"
        $0.kind = Bool.random(using: &random) ? .consultative : .active
        $0.source = ["site", "cold"].randomElement(using: &random)!
        $0.amount = .with {
          $0.minorUnits = Int64.random(in: 1_000...900_000, using: &random)
          $0.currency = "RUB"
        }
        $0.status = .open
        $0.probability = 10
        $0.openedAt = Google_Protobuf_Timestamp(date: time)
        $0.version = 1
      })
    return (state, try flow.dealEvent(Crm_Deals_V1_DealOpened.with { $0.deal = state.deal }, state, at: time))
  }

  /// A new card, an edit of one, or its archiving (and, now and then, an edit after that).
  private mutating func editCard(_ cards: [Crm_Contacts_V1_Contact], at time: Date) throws
    -> [Crm_Contacts_V1_Contact]
  {
    var cards = cards
    guard !cards.isEmpty, Int.random(in: 0..<3, using: &random) > 0 else {
      let card = Crm_Contacts_V1_Contact.with {
        $0.id = UUID().uuidString.lowercased()
        $0.name = "Client"
        $0.ownerID = "m-1"
        $0.version = 1
      }
      events.append(
        try Envelopes.event(
          Crm_Contacts_V1_ContactCreated.with { $0.contact = card }, topic: EventTopics.contacts, aggregateID: card.id,
          version: 1, at: time))
      return cards + [card]
    }
    let index = Int.random(in: 0..<cards.count, using: &random)
    cards[index].version += 1
    let card = cards[index]
    if Bool.random(using: &random) {
      cards[index].address = "Street \(card.version)"
      cards[index].archived = false
      events.append(
        try Envelopes.event(
          Crm_Contacts_V1_ContactUpdated.with { $0.contact = cards[index] }, topic: EventTopics.contacts,
          aggregateID: card.id, version: card.version, at: time))
    } else {
      cards[index].archived = true
      events.append(
        try Envelopes.event(
          Crm_Contacts_V1_ContactArchived.with { $0.contactID = card.id }, topic: EventTopics.contacts,
          aggregateID: card.id, version: card.version, at: time))
    }
    return cards
  }

  private mutating func hygiene(at time: Date) throws -> ReceivedEvent {
    try Envelopes.event(
      Crm_Activity_V1_HygieneReported.with {
        $0.report = .with {
          $0.managerID = "m-\(Int.random(in: 1...2, using: &random))"
          $0.day = .with {
            $0.year = 2026
            $0.month = 1
            $0.day = Int32.random(in: 5...7, using: &random)
          }
          $0.unprocessedDealCount = Int32.random(in: 0...4, using: &random)
        }
      }, topic: EventTopics.activity, aggregateID: "hygiene", version: Int64(events.count), at: time)
  }

  /// What the broker and producers do: an earlier event again under a new id (its version is
  /// stale by now, or a late first arrival when the original comes later), or an unknown type.
  private mutating func disturb() {
    guard events.count > 1 else { return }
    let earlier = events[Int.random(in: 1..<events.count, using: &random)]
    var copy = earlier.envelope
    copy.eventID = UUID().uuidString.lowercased()
    if Int.random(in: 0..<4, using: &random) == 0 { copy.type = "crm.deals.v1.DealReopened" }
    let event = ReceivedEvent(envelope: copy, record: earlier.record)
    // Now, or slipped in before its original's successors.
    events.insert(event, at: Int.random(in: (events.count - min(events.count - 1, 5))...events.count, using: &random))
  }
}

/// A small deterministic generator (SplitMix64): the same seed, the same history.
struct SeededGenerator: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}
