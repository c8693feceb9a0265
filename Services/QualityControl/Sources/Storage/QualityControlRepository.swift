import CRMContracts
import CRMDomain
import CRMIdentity
import Foundation

/// Where rubrics, review items, leases and reviews are kept. Every change writes its event to
/// the outbox in the same transaction; reviewers are named by their code (the verified
/// principal's subject).
protocol QualityControlRepository: Sendable {
  func defineRubric(_ definition: RubricDefinition, expectedVersion: Int64, actor: String) async throws
    -> Crm_Qualitycontrol_V1_Rubric
  /// `version` nil: the current one.
  func rubric(version: Int64?) async throws -> Crm_Qualitycontrol_V1_Rubric

  /// The reviewer's running lease, else the oldest item he may take, leased to him.
  func nextItem(reviewer: String) async throws -> Crm_Qualitycontrol_V1_NextItemReply
  func submitReview(itemID: String, leaseID: UUID, scores: [Crm_Qualitycontrol_V1_Score], by principal: Principal)
    async throws -> Crm_Qualitycontrol_V1_Review

  func reviewerStats(reviewer: String) async throws -> Crm_Qualitycontrol_V1_ReviewerStats
  func coverage() async throws -> Crm_Qualitycontrol_V1_Coverage
  /// The double-reviewed items' scores of a rubric version (nil: the current one).
  func agreementPairs(rubricVersion: Int64?) async throws -> AgreementPairs
  /// Rows by rep code and ISO week, at most `limit` (and whether there were more).
  func repScores(repCode: String?, since: Date?, limit: Int) async throws -> (
    [Crm_Qualitycontrol_V1_RepWeekScore], truncated: Bool
  )
}

/// The first and second reviews' scores per criterion, of the items reviewed twice.
struct AgreementPairs: Sendable {
  var rubric: Crm_Qualitycontrol_V1_Rubric
  var items: Int
  var pairs: [String: [(Int, Int)]]
}

/// A lease that was submitted already: one lease takes one review.
struct LeaseUsed: DomainError, Equatable {
  var leaseID: String
  var status: FailureStatus { .failedPrecondition }
  var description: String {
    "lease_id: lease \(leaseID) was submitted already; one lease takes one review (NextItem gives the next)"
  }
}

/// A lease that ran out: the item went back to the queue.
struct LeaseExpired: DomainError, Equatable {
  var leaseID: String
  var expiredAt: String
  var status: FailureStatus { .failedPrecondition }
  var description: String {
    "lease_id: lease \(leaseID) expired at \(expiredAt) and the item went back to the queue; take it again with NextItem"
  }
}

/// A lease of another reviewer's.
struct NotLeasedToYou: DomainError, Equatable {
  var itemID: String
  var caller: String
  var status: FailureStatus { .permissionDenied }
  var description: String {
    "permission denied: item \(itemID) is not leased to \(caller); a reviewer submits only the items leased to him"
  }
}

/// A rubric version asked for that does not exist (or none at all yet).
struct NoSuchRubric: DomainError, Equatable {
  var version: Int64?
  var status: FailureStatus { .notFound }
  var description: String {
    guard let version else { return "no rubric is defined yet: the QC head defines one with DefineRubric" }
    return "rubric version \(version) does not exist"
  }
}
