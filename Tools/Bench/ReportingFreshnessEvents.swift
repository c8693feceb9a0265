import CRMContracts
import CRMKafka
import Foundation
import SwiftProtobuf

/// A sales department's event stream as the other services publish it, made up as it goes: deals
/// opened, moved forward (now and then skipping a stage), objected to, estimated, re-priced, won
/// and lost; activities logged (most on open deals); leads created and closed; cards created and
/// edited; end-of-day reports and QC reviews. Versions rise per aggregate, as the producers'
/// would; every time is the moment the event is made.
final class ReportingFreshnessEvents {
  /// An event ready to produce, and the id the inbox reports it applied under.
  struct Made {
    var eventID: String
    /// The envelope's occurred_at: where the freshness clock starts.
    var at: Date
    var message: KafkaProducerMessage
  }

  /// The four `crm.*.events` topics under the bench's own names (see `ReportingFreshnessBench`).
  struct Topics {
    var contacts: String
    var deals: String
    var activity: String
    var qualityControl: String
    var all: [String] { [contacts, deals, activity, qualityControl] }
  }

  private struct Pipeline {
    var id: String
    var stages: [String]
  }

  private final class OpenDeal {
    var deal: Crm_Deals_V1_Deal
    var stage: Int
    var objection: Crm_Deals_V1_Objection?
    init(_ deal: Crm_Deals_V1_Deal) {
      self.deal = deal
      stage = 0
    }
  }

  /// What the stream is made of, by weight (per 1,000 events).
  private enum Kind: CaseIterable {
    case open, move, objection, estimate, amount, win, lose, activity, leadCreated, leadClosed
    case contactCreated, contactUpdated, hygiene, review

    var weight: Int {
      switch self {
      case .open: 140
      case .move: 220
      case .objection: 50
      case .estimate: 50
      case .amount: 20
      case .win: 55
      case .lose: 55
      case .activity: 300
      case .leadCreated: 40
      case .leadClosed: 30
      case .contactCreated: 20
      case .contactUpdated: 15
      case .hygiene: 3
      case .review: 2
      }
    }
  }

  let topics: Topics
  /// Open deals kept about this many (new deals wait while there are more).
  private let openDealCap: Int
  private let managers = (1...8).map { "bench-m-\($0)" }
  private let sources = ["site", "cold", "referral", "exhibition"]
  private var pipelines: [Pipeline] = []
  private var open: [OpenDeal] = []
  private var openLeads: [Crm_Contacts_V1_Lead] = []
  private var contacts: [Crm_Contacts_V1_Contact] = []
  private var hygieneVersion: Int64 = 0
  private var random = SystemRandomNumberGenerator()
  private(set) var counts: [String: Int] = [:]

  init(topics: Topics, openDealCap: Int = 3_000) {
    self.topics = topics
    self.openDealCap = openDealCap
  }

  /// The two business lines' pipelines (five stages each): the first events of a run.
  func pipelinesDefined() throws -> [Made] {
    try ["trailers", "attachments"].map { line in
      let pipeline = Pipeline(id: Self.id(), stages: (0..<5).map { _ in Self.id() })
      pipelines.append(pipeline)
      let defined = Crm_Deals_V1_Pipeline.with {
        $0.id = pipeline.id
        $0.businessLine = line
        $0.name = "Sales of \(line)"
        $0.version = 1
        $0.lossReasons = ["price", "timing", "competitor"]
        $0.stages = pipeline.stages.enumerated().map { index, id in
          .with {
            $0.id = id
            $0.name = "Stage \(index + 1)"
            $0.result = "Stage \(index + 1) done"
            $0.position = Int32(index + 1)
            $0.defaultProbability = Int32(10 + 20 * index)
          }
        }
      }
      return try make(
        Crm_Deals_V1_PipelineDefined.with { $0.pipeline = defined }, topic: topics.deals, aggregate: pipeline.id,
        version: 1, at: Date())
    }
  }

  /// The next event of the stream, made now.
  func next() throws -> Made {
    let now = Date()
    var roll = Int.random(in: 0..<Kind.allCases.reduce(0) { $0 + $1.weight }, using: &random)
    var kind = Kind.open
    for candidate in Kind.allCases {
      if roll < candidate.weight {
        kind = candidate
        break
      }
      roll -= candidate.weight
    }
    // Deal events need an open deal; new deals wait while there are many.
    if open.isEmpty, [.move, .objection, .estimate, .amount, .win, .lose].contains(kind) { kind = .open }
    if kind == .open && open.count >= openDealCap { kind = Bool.random(using: &random) ? .win : .lose }
    if kind == .leadClosed && openLeads.isEmpty { kind = .leadCreated }
    if kind == .contactUpdated && contacts.isEmpty { kind = .contactCreated }
    counts["\(kind)", default: 0] += 1
    switch kind {
    case .open: return try openDeal(at: now)
    case .move: return try move(at: now)
    case .objection: return try object(at: now)
    case .estimate: return try estimate(at: now)
    case .amount: return try reprice(at: now)
    case .win: return try close(won: true, at: now)
    case .lose: return try close(won: false, at: now)
    case .activity: return try activity(at: now)
    case .leadCreated: return try leadCreated(at: now)
    case .leadClosed: return try leadClosed(at: now)
    case .contactCreated: return try contactCreated(at: now)
    case .contactUpdated: return try contactUpdated(at: now)
    case .hygiene: return try hygiene(at: now)
    case .review: return try review(at: now)
    }
  }

  /// Deals opened so far (each has a row in `deals` once applied).
  private(set) var dealsOpened = 0
  /// Deals opened and not yet won or lost.
  var openDeals: Int { open.count }

  private func openDeal(at now: Date) throws -> Made {
    let pipeline = pipelines.randomElement(using: &random)!
    let deal = OpenDeal(
      .with {
        $0.id = Self.id()
        $0.contactID = contacts.randomElement(using: &random)?.id ?? ""
        $0.pipelineID = pipeline.id
        $0.stageID = pipeline.stages[0]
        $0.ownerID = managers.randomElement(using: &random)!
        $0.kind = Bool.random(using: &random) ? .consultative : .active
        $0.source = sources.randomElement(using: &random)!
        $0.amount = .with {
          $0.minorUnits = Int64.random(in: 10_000...5_000_000, using: &random) * 100
          $0.currency = "RUB"
        }
        $0.status = .open
        $0.probability = 10
        $0.openedAt = Google_Protobuf_Timestamp(date: now)
        $0.version = 1
      })
    open.append(deal)
    dealsOpened += 1
    return try dealEvent(Crm_Deals_V1_DealOpened.with { $0.deal = deal.deal }, deal, at: now)
  }

  /// A random open deal (removed from the open ones when `closing`).
  private func pickDeal(closing: Bool = false) -> OpenDeal {
    let index = Int.random(in: 0..<open.count, using: &random)
    guard closing else { return open[index] }
    open.swapAt(index, open.count - 1)
    return open.removeLast()
  }

  private func move(at now: Date) throws -> Made {
    let deal = pickDeal()
    let stages = pipelines.first { $0.id == deal.deal.pipelineID }!.stages
    guard deal.stage < stages.count - 1 else { return try close(won: true, at: now) }
    let skip = deal.stage < stages.count - 2 && Int.random(in: 0..<5, using: &random) == 0
    let target = deal.stage + (skip ? 2 : 1)
    let from = deal.deal.stageID
    deal.stage = target
    deal.deal.stageID = stages[target]
    deal.deal.probability = Int32(10 + 20 * target)
    deal.deal.version += 1
    return try dealEvent(
      Crm_Deals_V1_DealMoved.with {
        $0.deal = deal.deal
        $0.transition = .with {
          $0.fromStageID = from
          $0.toStageID = stages[target]
          $0.skippedStageIds = skip ? [stages[target - 1]] : []
          $0.actor = "manager:\(deal.deal.ownerID)"
          $0.movedAt = Google_Protobuf_Timestamp(date: now)
        }
      }, deal, at: now)
  }

  private func object(at now: Date) throws -> Made {
    let deal = pickDeal()
    let stall = Bool.random(using: &random)
    let objection = Crm_Deals_V1_Objection.with {
      $0.id = Self.id()
      $0.stageID = deal.deal.stageID
      $0.reason = stall ? "I'll think about it" : "too expensive"
      $0.kind = stall ? .stall : .real
      $0.raisedAt = Google_Protobuf_Timestamp(date: now)
    }
    deal.objection = objection
    deal.deal.version += 1
    return try dealEvent(
      Crm_Deals_V1_ObjectionRaised.with {
        $0.deal = deal.deal
        $0.objection = objection
      }, deal, at: now)
  }

  private func estimate(at now: Date) throws -> Made {
    let deal = pickDeal()
    let probability = Int32.random(in: 5...95, using: &random)
    deal.deal.probability = probability
    deal.deal.ownerProbability = probability
    deal.deal.ownerEstimated = true
    deal.deal.version += 1
    return try dealEvent(Crm_Deals_V1_ProbabilityEstimated.with { $0.deal = deal.deal }, deal, at: now)
  }

  private func reprice(at now: Date) throws -> Made {
    let deal = pickDeal()
    let previous = deal.deal.amount
    deal.deal.amount.minorUnits = previous.minorUnits / 100 * Int64.random(in: 80...120, using: &random)
    deal.deal.version += 1
    return try dealEvent(
      Crm_Deals_V1_DealAmountChanged.with {
        $0.deal = deal.deal
        $0.previous = previous
      }, deal, at: now)
  }

  private func close(won: Bool, at now: Date) throws -> Made {
    let deal = pickDeal(closing: true)
    deal.deal.closedAt = Google_Protobuf_Timestamp(date: now)
    deal.deal.version += 1
    if won {
      deal.deal.status = .won
      return try dealEvent(Crm_Deals_V1_DealWon.with { $0.deal = deal.deal }, deal, at: now)
    }
    deal.deal.status = .lost
    deal.deal.lossStageID = deal.deal.stageID
    deal.deal.lossReason = ["price", "timing", "competitor"].randomElement(using: &random)!
    return try dealEvent(
      Crm_Deals_V1_DealLost.with {
        $0.deal = deal.deal
        if let objection = deal.objection { $0.lastObjection = objection }
      }, deal, at: now)
  }

  private func activity(at now: Date) throws -> Made {
    let deal = open.isEmpty || Int.random(in: 0..<5, using: &random) == 0 ? nil : pickDeal()
    let author = deal?.deal.ownerID ?? managers.randomElement(using: &random)!
    let kinds: [Crm_Activity_V1_ActivityKind] = [.call, .call, .meeting, .email, .message, .note]
    let record = Crm_Activity_V1_ActivityRecord.with {
      $0.id = Self.id()
      $0.kind = kinds.randomElement(using: &random)!
      $0.dealID = deal?.deal.id ?? ""
      $0.contactID = deal?.deal.contactID ?? ""
      $0.author = "manager:\(author)"
      $0.authorID = author
      $0.text = "Talked about the delivery date"
      $0.occurredAt = Google_Protobuf_Timestamp(date: now)
      $0.recordedAt = Google_Protobuf_Timestamp(date: now)
    }
    return try make(
      Crm_Activity_V1_ActivityLogged.with { $0.activity = record }, topic: topics.activity, aggregate: record.id,
      version: 1, at: now)
  }

  private func leadCreated(at now: Date) throws -> Made {
    let lead = Crm_Contacts_V1_Lead.with {
      $0.id = Self.id()
      $0.name = "Lead"
      $0.phone = "+7912\(Int.random(in: 1_000_000...9_999_999, using: &random))"
      $0.source = sources.randomElement(using: &random)!
      $0.ownerID = managers.randomElement(using: &random)!
      $0.businessLine = Bool.random(using: &random) ? "trailers" : "attachments"
      $0.status = .open
      $0.createdAt = Google_Protobuf_Timestamp(date: now)
      $0.version = 1
    }
    openLeads.append(lead)
    return try make(
      Crm_Contacts_V1_LeadCreated.with { $0.lead = lead }, topic: topics.contacts, aggregate: lead.id, version: 1,
      at: now)
  }

  private func leadClosed(at now: Date) throws -> Made {
    let index = Int.random(in: 0..<openLeads.count, using: &random)
    openLeads.swapAt(index, openLeads.count - 1)
    var lead = openLeads.removeLast()
    lead.version += 1
    lead.closedAt = Google_Protobuf_Timestamp(date: now)
    if Bool.random(using: &random) {
      lead.status = .converted
      lead.contactID = Self.id()
      return try make(
        Crm_Contacts_V1_LeadConverted.with { $0.lead = lead }, topic: topics.contacts, aggregate: lead.id,
        version: lead.version, at: now)
    }
    lead.status = .rejected
    lead.rejectionReason = "no need"
    return try make(
      Crm_Contacts_V1_LeadRejected.with { $0.lead = lead }, topic: topics.contacts, aggregate: lead.id,
      version: lead.version, at: now)
  }

  private func contactCreated(at now: Date) throws -> Made {
    let contact = Crm_Contacts_V1_Contact.with {
      $0.id = Self.id()
      $0.name = "Client"
      $0.ownerID = managers.randomElement(using: &random)!
      $0.phones = [.with { $0.number = "+7912\(Int.random(in: 1_000_000...9_999_999, using: &random))" }]
      if Bool.random(using: &random) { $0.position = "Director" }
      $0.createdAt = Google_Protobuf_Timestamp(date: now)
      $0.version = 1
    }
    contacts.append(contact)
    if contacts.count > 5_000 { contacts.removeFirst(1_000) }
    return try make(
      Crm_Contacts_V1_ContactCreated.with { $0.contact = contact }, topic: topics.contacts, aggregate: contact.id,
      version: 1, at: now)
  }

  private func contactUpdated(at now: Date) throws -> Made {
    let index = Int.random(in: 0..<contacts.count, using: &random)
    contacts[index].version += 1
    contacts[index].address = "Main street \(contacts[index].version)"
    let contact = contacts[index]
    return try make(
      Crm_Contacts_V1_ContactUpdated.with { $0.contact = contact }, topic: topics.contacts, aggregate: contact.id,
      version: contact.version, at: now)
  }

  private func hygiene(at now: Date) throws -> Made {
    let manager = managers.randomElement(using: &random)!
    let day = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: now)
    hygieneVersion += 1
    return try make(
      Crm_Activity_V1_HygieneReported.with {
        $0.report = .with {
          $0.managerID = manager
          $0.day = .with {
            $0.year = Int32(day.year!)
            $0.month = Int32(day.month!)
            $0.day = Int32(day.day!)
          }
          $0.workingDay = true
          $0.unprocessedDealCount = Int32.random(in: 0...3, using: &random)
          $0.dealsWithoutOpenTaskCount = Int32.random(in: 0...3, using: &random)
          $0.dealsWithOverdueTaskCount = Int32.random(in: 0...3, using: &random)
        }
      }, topic: topics.activity, aggregate: "hygiene:\(manager)", version: hygieneVersion, at: now)
  }

  private func review(at now: Date) throws -> Made {
    let item = String((0..<16).map { _ in "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".randomElement(using: &random)! })
    return try make(
      Crm_Qualitycontrol_V1_ReviewSubmitted.with {
        $0.review = .with {
          $0.id = Self.id()
          $0.itemID = item
          $0.pass = 1
          $0.weightedScore = Double(Int.random(in: 40...100, using: &random))
          $0.submittedAt = Google_Protobuf_Timestamp(date: now)
        }
        $0.repCode = "BENCHREP\(Int.random(in: 10_000_000...99_999_999, using: &random))"
        $0.occurredAt = Google_Protobuf_Timestamp(date: now)
      }, topic: topics.qualityControl, aggregate: item, version: 1, at: now)
  }

  private func dealEvent(_ payload: some Message, _ deal: OpenDeal, at now: Date) throws -> Made {
    try make(payload, topic: topics.deals, aggregate: deal.deal.id, version: deal.deal.version, at: now)
  }

  /// The envelope as the outbox relay publishes it: keyed by aggregate id.
  private func make(_ payload: some Message, topic: String, aggregate: String, version: Int64, at now: Date) throws
    -> Made
  {
    let envelope = try Crm_Events_V1_EventEnvelope.with {
      $0.eventID = Self.id()
      $0.type = type(of: payload).protoMessageName
      $0.occurredAt = Google_Protobuf_Timestamp(date: now)
      $0.aggregateID = aggregate
      $0.aggregateVersion = version
      $0.actor = "service:bench"
      $0.payload = try payload.serializedData()
    }
    return Made(
      eventID: envelope.eventID, at: now,
      message: KafkaProducerMessage(topic: topic, key: Array(aggregate.utf8), value: try envelope.serializedBytes()))
  }

  private static func id() -> String { UUID().uuidString.lowercased() }
}
