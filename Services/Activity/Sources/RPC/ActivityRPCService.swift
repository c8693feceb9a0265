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
    throw RPCError(code: .unimplemented, message: "SetTimeZone comes with the tasks")
  }

  func createTask(request: Crm_Activity_V1_CreateTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Task
  {
    throw RPCError(code: .unimplemented, message: "CreateTask comes with the tasks")
  }

  func rescheduleTask(request: Crm_Activity_V1_RescheduleTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Task
  {
    throw RPCError(code: .unimplemented, message: "RescheduleTask comes with the tasks")
  }

  func completeTask(request: Crm_Activity_V1_CompleteTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Task
  {
    throw RPCError(code: .unimplemented, message: "CompleteTask comes with the tasks")
  }

  func cancelTask(request: Crm_Activity_V1_CancelTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Task
  {
    throw RPCError(code: .unimplemented, message: "CancelTask comes with the tasks")
  }

  func getTask(request: Crm_Activity_V1_GetTaskRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_TaskWithHistory
  {
    throw RPCError(code: .unimplemented, message: "GetTask comes with the tasks")
  }

  func listOpenTasks(request: Crm_Activity_V1_ListOpenTasksRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_ListTasksReply
  {
    throw RPCError(code: .unimplemented, message: "ListOpenTasks comes with the tasks")
  }
}
