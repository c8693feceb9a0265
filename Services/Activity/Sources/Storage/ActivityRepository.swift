import CRMContracts
import CRMDomain
import CRMIdentity
import Foundation

/// Where the attribute catalogue, activities and tasks are kept. Every change writes its event
/// to the outbox in the same transaction and names its actor (the verified principal).
protocol ActivityRepository: Sendable {
  func defineAttribute(_ definition: AttributeDefinition, expectedVersion: Int64, actor: String) async throws
    -> Crm_Activity_V1_AttributeDefinition
  func attributes() async throws -> [Crm_Activity_V1_AttributeDefinition]

  func logActivity(_ activity: ActivityInput.NewActivity, by principal: Principal) async throws
    -> Crm_Activity_V1_ActivityRecord
  /// Newest first; `cursor` is the `seq` of the last activity of the page before.
  func timeline(_ subject: TimelineSubject, after cursor: Int64?, limit: Int) async throws -> (
    [Crm_Activity_V1_ActivityRecord], next: Int64?
  )
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
