import CRMContracts
import CRMDomain
import CRMIdentity
import CRMRPC
import CRMRuntime
import Foundation
import GRPCCore

/// The activity service's RPCs: checks input (INVALID_ARGUMENT names the field, nothing is
/// written), then hands it to the repository; domain failures answer with their status.
struct ActivityRPCService: Crm_Activity_V1_Activity.SimpleServiceProtocol {
  let repository: any ActivityRepository
  let pageTokens: PageTokenKey
  /// When working days end, for the end-of-day reports (`ActivityRPCService+Hygiene`).
  var hygiene = HygieneSettings.default
  /// Who mail is sent as; nil without an SMTP server (SendEmail then logs only).
  var mailSender: MailSender? = nil

  // MARK: The attribute catalogue

  func defineAttribute(request: Crm_Activity_V1_DefineAttributeRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_AttributeDefinition
  {
    try await answering {
      let definition = try AttributeDefinition.validate(request)
      guard request.expectedVersion >= 0 else {
        throw InvalidField(field: "expected_version", reason: "is \(request.expectedVersion); expected 0 (new) or more")
      }
      return try await repository.defineAttribute(
        definition, expectedVersion: request.expectedVersion, actor: try Principal.verified.description)
    }
  }

  func listAttributes(request: Crm_Activity_V1_ListAttributesRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_ListAttributesReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let attributes = try await repository.attributes()
      return .with { $0.attributes = attributes }
    }
  }

  // MARK: Activities

  func logActivity(request: Crm_Activity_V1_LogActivityRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_ActivityRecord
  {
    try await answering {
      let activity = try ActivityInput.newActivity(request)
      return try await repository.logActivity(activity, by: try Principal.verified)
    }
  }

  func getTimeline(request: Crm_Activity_V1_GetTimelineRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_GetTimelineReply
  {
    try await answering {
      let subject = try TimelineSubject.of(request)
      if case .manager(let manager) = subject { try Self.checkMayRead(manager, "timeline") }
      let page = try Page(request.page, scope: subject.scope, key: pageTokens)
      let (activities, next) = try await repository.timeline(subject, after: page.cursor, limit: page.size)
      return .with {
        $0.activities = activities
        $0.nextPageToken = next.map(page.token) ?? ""
      }
    }
  }

  /// The manager whose `what` a request asks for in `field`: the caller himself when empty;
  /// refused unless the caller may read it (`checkMayRead`).
  static func managerToRead(_ requested: String, _ field: String, _ what: String) throws -> String {
    let manager =
      requested.isEmpty
      ? try Principal.verified.subject
      : try Text.field(requested, field, limit: DealsEventsHandler.ownerLength, required: true)
    try checkMayRead(manager, what)
    return manager
  }

  /// A manager reads only his own timeline and tasks; heads of sales, operators and the CRM's
  /// services read everyone's.
  static func checkMayRead(_ manager: String, _ what: String) throws {
    let principal = try Principal.verified
    guard principal.actsForEveryone || principal.holds(.service) || principal.subject == manager else {
      throw PermissionDenied(
        rule: "a manager reads only his own \(what); it is \(manager)'s, the caller is \(principal)")
    }
  }

  // MARK: Tasks

  func setTimeZone(request: Crm_Activity_V1_SetTimeZoneRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_ManagerSettings
  {
    try await answering {
      try request.requireKnownFields("request")
      let principal = try Principal.verified
      let manager =
        request.managerID.isEmpty
        ? principal.subject
        : try Text.field(request.managerID, "manager_id", limit: DealsEventsHandler.ownerLength, required: true)
      let zone = try LocalClock.zoneName(request.timeZone, "time_zone").name
      try PostgresActivityRepository.checkMay(principal, workOn: "the settings of \(manager)", ownedBy: manager)
      return try await repository.setTimeZone(manager: manager, zone: zone, actor: principal.description)
    }
  }

  func createTask(request: Crm_Activity_V1_CreateTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Task
  {
    try await answering {
      let principal = try Principal.verified
      let task = try TaskInput.newTask(request, caller: principal.subject)
      // A manager's tasks are his own (no tasks handed to a colleague).
      try PostgresActivityRepository.checkMay(
        principal, workOn: "a task of \(task.assigneeID)", ownedBy: task.assigneeID)
      return try await repository.createTask(task, by: principal, now: Date())
    }
  }

  func rescheduleTask(request: Crm_Activity_V1_RescheduleTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Task
  {
    try await answering {
      try request.requireKnownFields("request")
      let due = try TaskInput.due(
        at: request.hasDueAt ? request.dueAt : nil, local: request.hasDueLocal ? request.dueLocal : nil)
      return try await repository.rescheduleTask(
        id: request.taskID, to: due, reason: try TaskInput.note(request.reason, "reason"),
        expectedVersion: request.expectedVersion, by: try Principal.verified, now: Date())
    }
  }

  func completeTask(request: Crm_Activity_V1_CompleteTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Task
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.closeTask(
        id: request.taskID, as: .done, note: try TaskInput.note(request.result, "result"),
        expectedVersion: request.expectedVersion, by: try Principal.verified, now: Date())
    }
  }

  func cancelTask(request: Crm_Activity_V1_CancelTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Task
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.closeTask(
        id: request.taskID, as: .cancelled, note: try TaskInput.note(request.reason, "reason"),
        expectedVersion: request.expectedVersion, by: try Principal.verified, now: Date())
    }
  }

  func getTask(request: Crm_Activity_V1_GetTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_TaskWithHistory
  {
    try await answering {
      try request.requireKnownFields("request")
      let task = try await repository.task(id: request.taskID, now: Date())
      try Self.checkMayRead(task.task.assigneeID, "tasks")
      return task
    }
  }

  func listOpenTasks(request: Crm_Activity_V1_ListOpenTasksRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_ListTasksReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let assignee = try Self.managerToRead(request.assigneeID, "assignee_id", "tasks")
      let filter = TaskFilter(
        assigneeID: assignee, overdueOnly: request.overdueOnly, dueOn: request.hasDueOn ? request.dueOn : nil)
      let page = try Page(request.page, scope: filter.scope, key: pageTokens)
      // A token carries the last task's due time and seq (one of an earlier release, its seq only).
      let position =
        page.keyset.map { TaskPosition(dueMicros: $0.key, seq: $0.seq) }
        ?? page.cursor.map { TaskPosition(dueMicros: nil, seq: $0) }
      let (tasks, next) = try await repository.openTasks(filter, after: position, limit: page.size, now: Date())
      return .with {
        $0.tasks = tasks
        $0.nextPageToken = next.map { page.token(key: $0.dueMicros ?? 0, seq: $0.seq) } ?? ""
      }
    }
  }

  // MARK: Offers

  func makeOffer(request: Crm_Activity_V1_MakeOfferRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Offer
  {
    try await answering {
      let offer = try OfferInput.newOffer(request)
      return try await repository.makeOffer(offer, by: try Principal.verified, now: Date())
    }
  }

  func answerOffer(request: Crm_Activity_V1_AnswerOfferRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Offer
  {
    try await answering {
      let answer = try OfferInput.answer(request)
      return try await repository.answerOffer(
        id: request.offerID, outcome: answer.outcome, reason: answer.reason, expectedVersion: request.expectedVersion,
        by: try Principal.verified)
    }
  }

  func listOffers(request: Crm_Activity_V1_ListOffersRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_ListOffersReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let deal = try ActivityInput.id(request.dealID, "deal_id")
      let page = try Page(request.page, scope: "ListOffers/\(deal.text)", key: pageTokens)
      let (offers, next) = try await repository.offers(deal: deal, after: page.cursor, limit: page.size)
      return .with {
        $0.offers = offers
        $0.nextPageToken = next.map(page.token) ?? ""
      }
    }
  }
}
