import CRMContracts
import CRMDomain
import CRMIdentity
import Foundation

/// Where the attribute catalogue, activities and tasks are kept. Every change writes its event
/// to the outbox in the same transaction and names its actor (the verified principal).
protocol ActivityRepository: HygieneRepository, ReviewCountsRepository {
  func defineAttribute(_ definition: AttributeDefinition, expectedVersion: Int64, actor: String) async throws
    -> Crm_Activity_V1_AttributeDefinition
  func attributes() async throws -> [Crm_Activity_V1_AttributeDefinition]

  func logActivity(_ activity: ActivityInput.NewActivity, by principal: Principal) async throws
    -> Crm_Activity_V1_ActivityRecord
  /// Newest first; `cursor` is the `seq` of the last activity of the page before.
  func timeline(_ subject: TimelineSubject, after cursor: Int64?, limit: Int) async throws -> (
    [Crm_Activity_V1_ActivityRecord], next: Int64?
  )

  /// `zone` is a checked IANA name (`LocalClock.zoneName`).
  func setTimeZone(manager: String, zone: String, actor: String) async throws -> Crm_Activity_V1_ManagerSettings
  func createTask(_ task: TaskInput.NewTask, by principal: Principal, now: Date) async throws -> Crm_Activity_V1_Task
  func rescheduleTask(
    id: String, to due: TaskInput.Due, reason: String, expectedVersion: Int64, by principal: Principal, now: Date
  ) async throws -> Crm_Activity_V1_Task
  /// Completes (`.done`) or cancels (`.cancelled`) an open task.
  func closeTask(
    id: String, as status: Crm_Activity_V1_TaskStatus, note: String, expectedVersion: Int64, by principal: Principal,
    now: Date
  ) async throws -> Crm_Activity_V1_Task
  func task(id: String, now: Date) async throws -> Crm_Activity_V1_TaskWithHistory
  /// Soonest due first; `cursor` is the position of the last task of the page before.
  func openTasks(_ filter: TaskFilter, after cursor: TaskPosition?, limit: Int, now: Date) async throws -> (
    [Crm_Activity_V1_Task], next: TaskPosition?
  )

  /// Checks the answer date against `now` after a repeated request was answered.
  func makeOffer(_ offer: OfferInput.NewOffer, by principal: Principal, now: Date) async throws
    -> Crm_Activity_V1_Offer
  func answerOffer(
    id: String, outcome: Crm_Activity_V1_OfferOutcome, reason: String, expectedVersion: Int64, by principal: Principal
  ) async throws -> Crm_Activity_V1_Offer
  /// Newest first; `cursor` is the `seq` of the last offer of the page before.
  func offers(deal: UUID, after cursor: Int64?, limit: Int) async throws -> ([Crm_Activity_V1_Offer], next: Int64?)

  // Mail (PostgresActivityRepository+Mail.swift). `sender` is nil without an SMTP server:
  // the e-mail is then logged only.
  func sendEmail(_ email: EmailInput.NewEmail, sender: MailSender?, by principal: Principal, now: Date) async throws
    -> Crm_Activity_V1_SendEmailReply
  func email(id: String) async throws -> Crm_Activity_V1_Email
}

/// Which open tasks a listing shows: one assignee's, optionally only the overdue ones or those
/// due on one day of his calendar.
struct TaskFilter: Sendable {
  var assigneeID: String
  var overdueOnly: Bool
  var dueOn: Crm_Common_V1_Date?

  /// The page-token scope: the method and the filter (a token pages only the listing that issued it).
  var scope: String {
    "ListOpenTasks/\(assigneeID)/\(overdueOnly)/" + (dueOn.map { "\($0.year)-\($0.month)-\($0.day)" } ?? "")
  }
}

/// A task's place in the open-task listing: its due time (microseconds since 1970, as the
/// database holds it) and seq, both as they were when the page was read; a task rescheduled
/// between pages does not move the next page's start. `dueMicros` is nil only for a token of an
/// earlier release, which carried the seq alone (its task's current due time is used).
struct TaskPosition: Sendable, Equatable {
  var dueMicros: Int64?
  var seq: Int64
}

/// A new attribute whose key the catalogue already has: revise it (with its version) instead.
struct AttributeExists: DomainError, Equatable {
  var key: String
  var version: Int64
  var status: FailureStatus { .alreadyExists }
  var details: [String: String] { ["crm-current-version": "\(version)"] }
  var description: String {
    "attribute \(key) is already in the catalogue (version \(version)); revise it with expected_version \(version)"
  }
}

/// A manager logs activities and keeps tasks only on his own contacts and deals.
struct NotYours: DomainError, Equatable {
  var what: String
  var owner: String
  var caller: String
  var status: FailureStatus { .permissionDenied }
  var description: String {
    "permission denied: a manager works only on his own contacts and deals; \(what) belongs to "
      + "\(owner.isEmpty ? "nobody" : owner), the caller is \(caller)"
  }
}

/// Review items made and withheld (issue 15), counted for a head of sales.
protocol ReviewCountsRepository: Sendable {
  /// Items made in [from, to) (either end open when nil), and the withheld ones by reason.
  func reviewItemCounts(from: Date?, to: Date?) async throws -> (made: Int64, withheldByReason: [String: Int64])
}
