import CRMContracts
import CRMDomain
import CRMIdentity
import CRMRuntime
import Foundation
import GRPCCore

/// Quality-control's RPCs: checks input (INVALID_ARGUMENT names the field, nothing is written),
/// then hands it to the repository. A reviewer is his verified principal's subject: nobody
/// names himself in a request.
struct QualityControlRPCService: Crm_Qualitycontrol_V1_QualityControl.SimpleServiceProtocol {
  let repository: any QualityControlRepository
  /// The most rows of a scores reply.
  static let scoreRowLimit = 5_000

  // MARK: Rubrics

  func defineRubric(request: Crm_Qualitycontrol_V1_DefineRubricRequest, context: ServerContext) async throws
    -> Crm_Qualitycontrol_V1_Rubric
  {
    try await answering {
      let definition = try RubricDefinition.validate(request)
      return try await repository.defineRubric(
        definition, expectedVersion: request.expectedVersion, actor: try Principal.verified.description)
    }
  }

  func getRubric(request: Crm_Qualitycontrol_V1_GetRubricRequest, context: ServerContext) async throws
    -> Crm_Qualitycontrol_V1_Rubric
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.rubric(version: try Self.version(request.version, "version"))
    }
  }

  // MARK: The queue

  func nextItem(request: Crm_Qualitycontrol_V1_NextItemRequest, context: ServerContext) async throws
    -> Crm_Qualitycontrol_V1_NextItemReply
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.nextItem(reviewer: try Principal.verified.subject)
    }
  }

  func submitReview(request: Crm_Qualitycontrol_V1_SubmitReviewRequest, context: ServerContext) async throws
    -> Crm_Qualitycontrol_V1_Review
  {
    try await answering {
      try request.requireKnownFields("request")
      let itemID = try Codes.check(request.itemID, "item_id")
      guard let leaseID = UUID(uuidString: request.leaseID) else {
        throw InvalidField(field: "lease_id", reason: "\(Text.quoted(request.leaseID)) is not a lease id")
      }
      guard !request.scores.isEmpty else { throw InvalidField(field: "scores", reason: "is empty") }
      return try await repository.submitReview(
        itemID: itemID, leaseID: leaseID, scores: request.scores, by: try Principal.verified)
    }
  }

  // MARK: Reports

  func getReviewerStats(request: Crm_Qualitycontrol_V1_GetReviewerStatsRequest, context: ServerContext) async throws
    -> Crm_Qualitycontrol_V1_ReviewerStats
  {
    try await answering {
      try request.requireKnownFields("request")
      let principal = try Principal.verified
      var reviewer = principal.subject
      if !request.reviewerCode.isEmpty && request.reviewerCode != principal.subject {
        guard principal.holds(.qcHead) || principal.holds(.operator) else {
          throw PermissionDenied(rule: "a reviewer reads only his own counts (the caller is \(principal))")
        }
        reviewer = try Text.field(request.reviewerCode, "reviewer_code", limit: 64, required: true)
      }
      return try await repository.reviewerStats(reviewer: reviewer)
    }
  }

  func getCoverage(request: Crm_Qualitycontrol_V1_GetCoverageRequest, context: ServerContext) async throws
    -> Crm_Qualitycontrol_V1_Coverage
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.coverage()
    }
  }

  func getAgreement(request: Crm_Qualitycontrol_V1_GetAgreementRequest, context: ServerContext) async throws
    -> Crm_Qualitycontrol_V1_Agreement
  {
    try await answering {
      try request.requireKnownFields("request")
      let data = try await repository.agreementPairs(
        rubricVersion: try Self.version(request.rubricVersion, "rubric_version"))
      return AgreementReport.build(data)
    }
  }

  func getRepScores(request: Crm_Qualitycontrol_V1_GetRepScoresRequest, context: ServerContext) async throws
    -> Crm_Qualitycontrol_V1_GetRepScoresReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let rep = request.repCode.isEmpty ? nil : try Codes.check(request.repCode, "rep_code")
      var since: Date?
      if request.hasSince {
        try request.since.requireKnownFields("since")
        // Years 1970 to 9999: a report's weeks lie there.
        guard (0...253_402_300_799).contains(request.since.seconds) else {
          throw InvalidField(field: "since.seconds", reason: "is \(request.since.seconds); outside 1970 to 9999")
        }
        since = Date(timeIntervalSince1970: TimeInterval(request.since.seconds))
      }
      let (scores, truncated) = try await repository.repScores(repCode: rep, since: since, limit: Self.scoreRowLimit)
      return .with {
        $0.scores = scores
        $0.truncated = truncated
      }
    }
  }

  /// A rubric version from a request: 0 is the current one (nil).
  static func version(_ value: Int64, _ field: String) throws(InvalidField) -> Int64? {
    guard value >= 0 else { throw InvalidField(field: field, reason: "is \(value); expected 0 (current) or more") }
    return value == 0 ? nil : value
  }
}
