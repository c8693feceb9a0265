import CRMContracts
import CRMDomain
import CRMIdentity
import CRMRuntime
import Foundation
import GRPCCore

/// How many reports went to quality control, and how many without their text: what a head of
/// sales watches to know the wall is not eating the reviews.
extension ActivityRPCService {
  func getReviewItemCounts(request: Crm_Activity_V1_GetReviewItemCountsRequest, context: ServerContext)
    async throws -> Crm_Activity_V1_ReviewItemCounts
  {
    try await answering {
      try request.requireKnownFields("request")
      let from = request.hasFrom ? try WireTime.instant(request.from, "from") : nil
      let to = request.hasTo ? try WireTime.instant(request.to, "to") : nil
      if let from, let to, from >= to {
        throw InvalidField(field: "to", reason: "is not after from: the period is empty")
      }
      let counts = try await repository.reviewItemCounts(from: from, to: to)
      return .with {
        $0.made = counts.made
        $0.withheld = counts.withheldByReason.values.reduce(0, +)
        $0.withheldByReason = counts.withheldByReason
      }
    }
  }
}

extension ActivityAccess {
  /// Counts for heads of sales (and the CRM's services: reporting); managers and the
  /// quality-control desk have no use for them.
  static let review = AccessPolicy([
    service + "GetReviewItemCounts": AccessPolicy.Rule(
      [.operator, .headOfSales, .service], "review item counts are read by heads of sales")
  ])
}
