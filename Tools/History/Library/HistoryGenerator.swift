import CRMContracts
import CRMKafka
import CRMRPC
import Foundation
import GRPCCore
import Logging
import SwiftProtobuf

/// Writes a planned history through the services' public RPCs over the broker, so every event
/// flows as in production. Creates carry request ids derived from the seed and every deal step
/// names the version it expects, so a second run of the same plan changes nothing: it finds
/// each lead, contact and deal where the first left it and goes on from there.
public enum HistoryGenerator {
  /// What a run did.
  public struct Report: Sendable {
    public var units = 0
    /// Deal steps written by this run (0 when a run repeats a finished one).
    public var stepsWritten = 0
    public var activitiesLogged = 0
    public var offersMade = 0
    /// Next-step tasks set on the deals open when the history ends.
    public var tasksSet = 0
    /// Reviews submitted by this run's reviewers.
    public var reviewsSubmitted = 0
  }

  /// Writes `plan`; with `reviews`, the quality-control service (which must run) gets the
  /// generator's rubric first and every review item the activities made is then reviewed.
  /// `written` runs once every lead, deal, activity, offer and task is written, before the
  /// reviews (a test may restart a service there while the reviews go on).
  public static func run(
    _ plan: HistoryPlan, connection: HistoryConnection, reviews: Bool = true,
    written: @Sendable () async throws -> Void = {}
  ) async throws -> Report {
    let clients = try HistoryClients(connection)
    return try await clients.whileConnected {
      let writer = try await HistoryWriter.prepare(plan, clients: clients, connection: connection, reviews: reviews)
      var report = try await writer.writeAll()
      try await written()
      if reviews {
        let expected = plan.deals.reduce(0) { $0 + $1.steps.reduce(0) { $0 + $1.activities.count } }
        report.reviewsSubmitted = try await writer.reviewAll(expecting: expected)
      }
      return report
    }
  }
}

/// One run's state: the pipelines and what the services already hold of this seed's history.
struct HistoryWriter: Sendable {
  let plan: HistoryPlan
  let clients: HistoryClients
  let connection: HistoryConnection
  /// Business line → stage ids in order, and the pipeline's id.
  let pipelines: [String: (id: String, stages: [String])]
  /// What the services hold already (a run before this one): leads by id, deals by lead id.
  let knownLeads: [String: Crm_Contacts_V1_Lead]
  let dealsOfLeads: [String: String]
  let counter = Counter()
  /// When this run began (on this machine's clock, which the services share in tests and demos).
  let runStarted = Date()

  var seed: UInt64 { plan.options.seed }

  static func prepare(
    _ plan: HistoryPlan, clients: HistoryClients, connection: HistoryConnection, reviews: Bool
  ) async throws -> HistoryWriter {
    let seed = plan.options.seed
    // Before any report: items that come before a rubric wait for one.
    if reviews { try await defineRubric(clients, seed: seed) }
    var existing = Dictionary(
      try await clients.deals.listPipelines(.init()).pipelines.map { ($0.businessLine, $0) }
    ) { first, _ in first }
    for line in Catalogue.lines where existing[line.businessLine] == nil {
      existing[line.businessLine] = try await clients.deals.definePipeline(
        .with {
          $0.businessLine = line.businessLine
          $0.name = line.pipelineName
          $0.stages = zip(line.stages, line.defaultProbabilities).map { name, probability in
            .with {
              $0.name = name
              $0.result = "Этап «\(name)» пройден"
              $0.defaultProbability = probability
            }
          }
          $0.lossReasons = line.lossReasons
        }, metadata: requestID(seed, "pipeline", line.businessLine))
    }
    var pipelines: [String: (id: String, stages: [String])] = [:]
    for line in Catalogue.lines {
      let pipeline = existing[line.businessLine]!
      let stages = pipeline.stages.filter { !$0.retired }.sorted { $0.position < $1.position }
      guard stages.map(\.name) == line.stages else {
        throw HistoryError(
          "pipeline \(line.businessLine) exists with other stages (\(stages.map(\.name))); "
            + "the history needs \(line.stages)")
      }
      pipelines[line.businessLine] = (pipeline.id, stages.map(\.id))
    }
    let attributes = Set(try await clients.catalogue.listAttributes(.init()).attributes.map(\.key))
    for attribute in Catalogue.attributes where !attributes.contains(attribute.key) {
      _ = try await clients.catalogue.defineAttribute(
        .with {
          $0.key = attribute.key
          $0.label = attribute.label
          $0.type = .choice
          $0.choices = attribute.choices
          // The values name no one: they may go with review items to quality control.
          $0.qcSafe = true
        }, metadata: requestID(seed, "attribute", attribute.key))
    }
    var leads: [String: Crm_Contacts_V1_Lead] = [:]
    var deals: [String: String] = [:]
    for manager in Catalogue.managers {
      var token = ""
      repeat {
        let page = try await clients.contacts.listLeads(
          .with {
            $0.ownerID = manager.id
            $0.page = .with {
              $0.pageSize = 100
              $0.pageToken = token
            }
          })
        for lead in page.leads { leads[lead.id] = lead }
        token = page.nextPageToken
      } while !token.isEmpty
      repeat {
        let page = try await clients.deals.listDeals(
          .with {
            $0.ownerID = manager.id
            $0.page = .with {
              $0.pageSize = 100
              $0.pageToken = token
            }
          })
        for deal in page.deals where !deal.leadID.isEmpty { deals[deal.leadID] = deal.id }
        token = page.nextPageToken
      } while !token.isEmpty
    }
    return HistoryWriter(
      plan: plan, clients: clients, connection: connection, pipelines: pipelines, knownLeads: leads,
      dealsOfLeads: deals)
  }

  /// Every lead and deal, `connection.concurrency` at a time.
  func writeAll() async throws -> HistoryGenerator.Report {
    // Units: each rejected lead alone; each deal with its lead or contact.
    let rejected = plan.leads.filter { $0.dealIndex == nil }.map { Unit.rejectedLead($0) }
    let units = plan.deals.map { Unit.deal($0) } + rejected
    let total = units.count
    let started = ContinuousClock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
      var next = 0
      var finished = 0
      func start() {
        guard next < units.count else { return }
        let unit = units[next]
        next += 1
        group.addTask { try await write(unit) }
      }
      for _ in 0..<max(1, connection.concurrency) { start() }
      while try await group.next() != nil {
        finished += 1
        if finished % max(1, total / 10) == 0 || finished == total {
          connection.progress(
            "history: \(finished)/\(total) leads and deals written (\(ContinuousClock.now - started))")
        }
        start()
      }
    }
    var report = counter.report
    report.units = total
    return report
  }

  enum Unit: Sendable {
    case rejectedLead(PlannedLead)
    case deal(PlannedDeal)
  }

  /// Writes `unit`; a failure names the unit and the call that failed.
  func write(_ unit: Unit) async throws {
    let what: String
    switch unit {
    case .rejectedLead(let lead): what = "rejected lead \(lead.index)"
    case .deal(let deal): what = "deal \(deal.index) of \(deal.managerID)"
    }
    do {
      try await writing(unit)
    } catch let error as HistoryError {
      throw HistoryError("\(what): \(error)")
    } catch {
      throw HistoryError("\(what): \(error)")
    }
  }

  func writing(_ unit: Unit) async throws {
    switch unit {
    case .rejectedLead(let planned):
      let lead = try await createLead(planned)
      guard case .rejected(let at, let reason) = planned.outcome, lead.status == .open else { return }
      for attempt in 1...3 {
        do {
          _ = try await clients.contacts.rejectLead(
            .with {
              $0.leadID = lead.id
              $0.reason = reason
              $0.expectedVersion = lead.version
              $0.occurredAt = Google_Protobuf_Timestamp(date: at)
            })
          return
        } catch let error as RPCError where lostReply(error) && attempt < 3 {
          continue
        } catch let error as RPCError where error.code == .failedPrecondition && attempt > 1 {
          return  // the call whose reply was lost rejected it
        } catch let error as RPCError {
          throw HistoryError("RejectLead: \(error.code): \(error.message)")
        }
      }
    case .deal(let planned):
      let dealID = try await open(planned)
      try await drive(planned, dealID: dealID)
    }
  }

  /// The lead as the services hold it now (created by this call or a run before).
  func createLead(_ planned: PlannedLead) async throws -> Crm_Contacts_V1_Lead {
    let lead = try await labelled("CreateLead") {
      try await clients.contacts.createLead(
        .with {
          $0.name = planned.name
          $0.phone = planned.phone
          $0.source = planned.source
          $0.ownerID = planned.managerID
          $0.businessLine = Catalogue.equipment.businessLine
          $0.occurredAt = Google_Protobuf_Timestamp(date: planned.createdAt)
        }, metadata: requestID(seed, "lead", planned.index))
    }
    return knownLeads[lead.id] ?? lead
  }

  /// The deal's id: opened by the conversion of its lead, or by the operator on a new contact.
  func open(_ planned: PlannedDeal) async throws -> String {
    let line = pipelines[planned.line.businessLine]!
    switch planned.origin {
    case .lead(let index):
      let plannedLead = plan.leads[index]
      let lead = try await createLead(plannedLead)
      if let known = dealsOfLeads[lead.id] { return known }
      var contactID = lead.contactID
      if lead.status == .open, case .converted(let at, let companyName) = plannedLead.outcome {
        contactID = try await labelled("ConvertLead") {
          try await clients.contacts.convertLead(
            .with {
              $0.leadID = lead.id
              $0.companyName = companyName
              $0.pipelineID = line.id
              $0.expectedVersion = lead.version
              $0.occurredAt = Google_Protobuf_Timestamp(date: at)
            }, metadata: requestID(seed, "convert", index)
          ).contact.id
        }
      }
      // The deals service opens it when LeadConverted reaches it.
      return try await eventually("the deal of lead \(lead.id)") {
        let deals = try await clients.deals.listOpenDealsOfContact(.with { $0.contactID = contactID }).deals
        guard let deal = deals.first(where: { $0.leadID == lead.id }) else {
          throw RPCError(code: .notFound, message: "no deal of lead \(lead.id) yet")
        }
        return deal.id
      }
    case .direct(let contact, let openedAt, let amount, let source):
      let card = try await labelled("CreateContact") {
        try await clients.contacts.createContact(
          .with {
            $0.name = contact.name
            $0.phones = [.with { $0.number = contact.phone }]
            if !contact.email.isEmpty { $0.emails = [.with { $0.address = contact.email }] }
            $0.position = contact.position
            $0.address = contact.address
            if let birthday = contact.birthday {
              $0.birthday = .with {
                $0.year = birthday.year
                $0.month = birthday.month
                $0.day = birthday.day
              }
            }
            $0.notes = contact.notes
            $0.ownerID = planned.managerID
            $0.occurredAt = Google_Protobuf_Timestamp(date: contact.createdAt)
          }, metadata: requestID(seed, "contact", planned.index))
      }
      // The deals service knows the contact once ContactCreated reaches it.
      return try await eventually("opening deal \(planned.index)") {
        try await clients.deals.openDeal(
          .with {
            $0.contactID = card.id
            $0.pipelineID = line.id
            $0.ownerID = planned.managerID
            $0.kind = .active
            $0.source = source
            $0.amount = .with {
              $0.minorUnits = amount
              $0.currency = "RUB"
            }
            if let close = planned.expectedClose {
              $0.expectedClose = .with {
                $0.year = close.year
                $0.month = close.month
                $0.day = close.day
              }
            }
            $0.occurredAt = Google_Protobuf_Timestamp(date: openedAt)
          }, metadata: requestID(seed, "deal", planned.index)
        ).id
      }
    }
  }

  /// The deal's steps from where it stands: step k is made at version k + 1, so the version
  /// says how many a run before this one wrote.
  func drive(_ planned: PlannedDeal, dealID: String) async throws {
    let current = try await clients.deals.getDeal(.with { $0.dealID = dealID }).deal
    guard current.status == .open else { return }
    let stages = pipelines[planned.line.businessLine]!.stages
    let activity = clients.activity[planned.managerID]!
    for (index, step) in planned.steps.enumerated() where index >= Int(current.version) - 1 {
      for (number, logged) in step.activities.enumerated() {
        try await log(logged, dealID: dealID, key: requestID(seed, "activity", planned.index, index, number), activity)
      }
      if let offer = step.offer {
        try await make(offer, dealID: dealID, key: requestID(seed, "offer", planned.index, index), activity)
      }
      try await apply(step, to: dealID, expectedVersion: Int64(index + 1), stages: stages)
      counter.add(steps: 1)
    }
    if planned.nextStepTask {
      try await setNextStep(dealID: dealID, key: requestID(seed, "task", planned.index), activity)
    }
  }

  /// The next-step task of a deal still open when the history ends, set by its owner now (tasks
  /// have no imported time) and due when the offers' answers are: fixed by the plan, so that a
  /// repeated request is the same request. None when that is past (a history that ended long
  /// ago): a task may not be due in the past.
  func setNextStep(
    dealID: String, key: Metadata, _ activity: Crm_Activity_V1_Activity.Client<KafkaClientTransport>
  ) async throws {
    let due = plan.options.end.addingTimeInterval(60 * 86_400)
    guard due > Date() else { return }
    let task = try await eventually("a next-step task on deal \(dealID)") {
      try await activity.createTask(
        .with {
          $0.dealID = dealID
          $0.title = "Следующий шаг: созвониться с клиентом"
          $0.dueAt = Google_Protobuf_Timestamp(date: due)
        }, metadata: key)
    }
    // A repeated request answers the task a run before this one set.
    if task.createdAt.date >= runStarted { counter.add(tasks: 1) }
  }

  func apply(_ step: DealStep, to dealID: String, expectedVersion: Int64, stages: [String]) async throws {
    do {
      do {
        try await applying(step, to: dealID, expectedVersion: expectedVersion, stages: stages)
      } catch let error as RPCError where lostReply(error) {
        // Sent again: a first call that was made after all makes this one ABORTED (below).
        connection.logger.warning("a deal step sent again", metadata: ["error": "\(error.code)"])
        try await applying(step, to: dealID, expectedVersion: expectedVersion, stages: stages)
      }
    } catch let error as RPCError where error.code == .aborted {
      // A call whose reply was lost and that the transport sent again: written once, the
      // second found the next version.
      let deal = try await clients.deals.getDeal(.with { $0.dealID = dealID }).deal
      guard deal.version > expectedVersion else { throw error }
    } catch let error as RPCError {
      throw HistoryError("step \(expectedVersion) (\(step.action)) at \(step.at): \(error.code): \(error.message)")
    }
  }

  func applying(_ step: DealStep, to dealID: String, expectedVersion: Int64, stages: [String]) async throws {
    let at = Google_Protobuf_Timestamp(date: step.at)
    switch step.action {
    case .changeAmount(let minorUnits):
      _ = try await clients.deals.changeAmount(
        .with {
          $0.dealID = dealID
          $0.amount = .with {
            $0.minorUnits = minorUnits
            $0.currency = "RUB"
          }
          $0.expectedVersion = expectedVersion
          $0.occurredAt = at
        })
    case .move(let target, _):
      _ = try await clients.deals.moveDeal(
        .with {
          $0.dealID = dealID
          $0.toStageID = stages[target]
          $0.expectedVersion = expectedVersion
          $0.occurredAt = at
        })
    case .objection(let real, let reason, let conditions):
      _ = try await clients.deals.raiseObjection(
        .with {
          $0.dealID = dealID
          $0.reason = reason
          $0.kind = real ? .real : .stall
          $0.conditions = conditions
          $0.expectedVersion = expectedVersion
          $0.occurredAt = at
        })
    case .estimate(let probability):
      _ = try await clients.deals.estimateProbability(
        .with {
          $0.dealID = dealID
          $0.probability = probability
          $0.expectedVersion = expectedVersion
          $0.occurredAt = at
        })
    case .win:
      _ = try await clients.deals.winDeal(
        .with {
          $0.dealID = dealID
          $0.expectedVersion = expectedVersion
          $0.occurredAt = at
        })
    case .lose(let reason):
      _ = try await clients.deals.loseDeal(
        .with {
          $0.dealID = dealID
          $0.reason = reason
          $0.expectedVersion = expectedVersion
          $0.occurredAt = at
        })
    }
  }

  func log(
    _ planned: PlannedActivity, dealID: String, key: Metadata,
    _ activity: Crm_Activity_V1_Activity.Client<KafkaClientTransport>
  ) async throws {
    // The activity service knows the deal once DealOpened reaches it.
    _ = try await eventually("an activity of deal \(dealID)") {
      try await activity.logActivity(
        .with {
          $0.kind = planned.meeting ? .meeting : .call
          $0.dealID = dealID
          $0.text = planned.text
          $0.context = planned.context.mapValues { value in .with { $0.choice = value } }
          $0.occurredAt = Google_Protobuf_Timestamp(date: planned.at)
        }, metadata: key)
    }
    counter.add(activities: 1)
  }

  /// An offer made now (offers have no imported time) and answered at once.
  func make(
    _ planned: PlannedOffer, dealID: String, key: Metadata,
    _ activity: Crm_Activity_V1_Activity.Client<KafkaClientTransport>
  ) async throws {
    let offer = try await eventually("an offer on deal \(dealID)") {
      try await activity.makeOffer(
        .with {
          $0.dealID = dealID
          $0.variant = planned.variant
          $0.amount = .with {
            $0.minorUnits = planned.amountMinor
            $0.currency = "RUB"
          }
          $0.terms = "Оплата 50% предоплата, 50% по поставке"
          // Fixed by the plan (a repeated request must be the same request), and to come.
          $0.answerBy = Google_Protobuf_Timestamp(date: plan.options.end.addingTimeInterval(60 * 86_400))
        }, metadata: key)
    }
    counter.add(offers: 1)
    guard offer.outcome == .pending else { return }
    for attempt in 1...3 {
      do {
        _ = try await activity.answerOffer(
          .with {
            $0.offerID = offer.id
            $0.outcome = planned.accepted ? .accepted : .declined
            $0.reason = planned.declineReason
            $0.expectedVersion = offer.version
          })
        return
      } catch let error as RPCError where lostReply(error) && attempt < 3 {
        continue
      } catch let error as RPCError where [.aborted, .failedPrecondition].contains(error.code) {
        return  // answered by a run before this one (its offer came back as first made), or a lost reply's call
      } catch let error as RPCError {
        throw HistoryError("AnswerOffer: \(error.code): \(error.message)")
      }
    }
  }

  /// `call` until it stops answering NOT_FOUND (a service that has not learnt of a record from
  /// the events yet), for up to 60 seconds.
  func eventually<Result: Sendable>(_ what: String, _ call: () async throws -> Result) async throws -> Result {
    let deadline = ContinuousClock.now + .seconds(60)
    var pause = Duration.milliseconds(20)
    while true {
      do {
        return try await call()
      } catch let error as RPCError where error.code == .notFound && ContinuousClock.now < deadline {
        try await Task.sleep(for: pause)
        pause = min(pause * 2, .milliseconds(500))
      } catch let error as RPCError where error.code == .notFound {
        throw HistoryError("\(what): still NOT_FOUND after 60 s (\(error.message))")
      } catch let error as RPCError where lostReply(error) && ContinuousClock.now < deadline {
        // Every call here is safe to send again (a create repeats its request id).
        connection.logger.warning("a call sent again", metadata: ["call": "\(what)", "error": "\(error.code)"])
      } catch let error as RPCError {
        throw HistoryError("\(what): \(error.code): \(error.message)")
      }
    }
  }
}

/// `call`, its failure named `what`.
/// Calls the generator makes through `labelled` are safe to send again (reads, creates with a
/// request id), and a call whose reply was lost (a loaded machine, a busy broker) is sent up
/// to `attempts` times.
func labelled<Result: Sendable>(_ what: String, attempts: Int = 3, _ call: () async throws -> Result) async throws
  -> Result
{
  for attempt in 1... {
    do {
      return try await call()
    } catch let error as RPCError where lostReply(error) && attempt < attempts {
      continue
    } catch let error as RPCError {
      throw HistoryError("\(what): \(error.code): \(error.message)")
    }
  }
  fatalError("unreachable")
}

/// No answer came (DEADLINE_EXCEEDED) or the service was not there (UNAVAILABLE): the call may
/// or may not have been made.
func lostReply(_ error: RPCError) -> Bool { error.code == .deadlineExceeded || error.code == .unavailable }

/// Counts of what a run wrote, from its concurrent tasks.
final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var counts = HistoryGenerator.Report()

  func add(steps: Int = 0, activities: Int = 0, offers: Int = 0, tasks: Int = 0) {
    lock.withLock {
      counts.stepsWritten += steps
      counts.activitiesLogged += activities
      counts.offersMade += offers
      counts.tasksSet += tasks
    }
  }

  var report: HistoryGenerator.Report { lock.withLock { counts } }
}

public struct HistoryError: Error, CustomStringConvertible {
  public var description: String
  init(_ description: String) { self.description = description }
}
