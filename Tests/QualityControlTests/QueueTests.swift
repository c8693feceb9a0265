import CRMContracts
import CRMDatabase
import CRMTestSupport
import Foundation
import GRPCCore
import PostgresNIO
import Testing

@testable import QualityControlService

/// The queue against the real database: oldest first, never the same rep code twice in a row,
/// one lease per reviewer, leases that run out, double reviews by different reviewers, blind.
@Suite("Review queue")
struct QueueTests {
  typealias Harness = QualityControlHarness
  static let reviewer1 = "qc_reviewer:r-1"
  static let reviewer2 = "qc_reviewer:r-2"

  func next(_ context: Harness.Context, _ reviewer: String) async throws -> Crm_Qualitycontrol_V1_NextItemReply {
    try await context.as(reviewer) { try await context.qc.nextItem(.init()) }
  }

  func submit(
    _ context: Harness.Context, _ reviewer: String, _ reply: Crm_Qualitycontrol_V1_NextItemReply, value: Int32 = 2,
    change: (inout Crm_Qualitycontrol_V1_SubmitReviewRequest) -> Void = { _ in }
  ) async throws -> Crm_Qualitycontrol_V1_Review {
    var request = Crm_Qualitycontrol_V1_SubmitReviewRequest.with {
      $0.itemID = reply.item.itemID
      $0.leaseID = reply.leaseID
      $0.scores = Harness.scores(reply.rubric, value)
    }
    change(&request)
    return try await context.as(reviewer) { try await context.qc.submitReview(request) }
  }

  @Test func oldestFirstButNeverTheSameRepTwiceInARow() async throws {
    try await Harness.with { context in
      let repA = Harness.code()
      let repB = Harness.code()
      let items = [Harness.item(rep: repA), Harness.item(rep: repA), Harness.item(rep: repB)]
      for item in items { try await context.deliver(item) }
      #expect(try await next(context, Self.reviewer1).emptyBecause.contains("no rubric"))
      try await context.defineRubric()

      let first = try await next(context, Self.reviewer1)
      #expect(first.item.itemID == items[0].itemID)
      #expect(first.item.redactedText == items[0].redactedText)
      #expect(first.rubric.version == 1)
      // Asking again gives the lease he holds.
      #expect(try await next(context, Self.reviewer1).leaseID == first.leaseID)
      _ = try await submit(context, Self.reviewer1, first)
      // items[1] is older, but of the rep he just reviewed.
      let second = try await next(context, Self.reviewer1)
      #expect(second.item.itemID == items[2].itemID)
      _ = try await submit(context, Self.reviewer1, second)
      #expect(try await next(context, Self.reviewer1).item.itemID == items[1].itemID)
    }
  }

  @Test func aLeaseRunsOutAndItsItemGoesBackToTheQueue() async throws {
    // Long enough that the second reviewer asks while it holds, even on a busy machine (4 s was
    // not, once the whole suite ran Chromium and a dozen executables beside it).
    try await Harness.with(settings: .init(leaseSeconds: 10, doubleReviewShare: 0)) { context in
      try await context.defineRubric()
      let item = Harness.item()
      try await context.deliver(item)
      let leased = try await next(context, Self.reviewer1)
      #expect(leased.item.itemID == item.itemID)
      #expect(try await next(context, Self.reviewer2).emptyBecause.contains("queue is empty"))
      // Until the lease has run out (by its own expiry time), and a little more.
      let left = leased.leaseExpiresAt.date.timeIntervalSinceNow
      try await Task.sleep(for: .milliseconds(Int(max(0, left) * 1000) + 300))
      let taken = try await next(context, Self.reviewer2)
      #expect(taken.item.itemID == item.itemID)
      // The first reviewer's lease is gone: precise error, nothing written.
      let code = await statusCode { try await submit(context, Self.reviewer1, leased) }
      #expect(code == .failedPrecondition)
      #expect(await failure { try await submit(context, Self.reviewer1, leased) }.contains("expired"))
      #expect(try await context.count("SELECT count(*) FROM reviews") == 0)
      let stats = try await context.as(Self.reviewer1) { try await context.qc.getReviewerStats(.init()) }
      #expect(stats.leasesExpired == 1)
    }
  }

  @Test func aDoubleReviewedItemGoesToTwoDifferentReviewersBlind() async throws {
    try await Harness.with(settings: .init(leaseSeconds: 900, doubleReviewShare: 1)) { context in
      try await context.defineRubric()
      let item = Harness.item()
      try await context.deliver(item)
      let first = try await next(context, Self.reviewer1)
      let review1 = try await submit(context, Self.reviewer1, first, value: 1)
      #expect(review1.pass == 1)
      // Not the same reviewer for its second pass (the rep rule aside: another item of its rep).
      try await context.deliver(Harness.item())
      let other = try await next(context, Self.reviewer1)
      #expect(other.item.itemID != item.itemID)
      let second = try await next(context, Self.reviewer2)
      #expect(second.item.itemID == item.itemID)
      // Blind: what the second reviewer gets holds nothing of the first review.
      let serialized = try second.jsonString()
      #expect(!serialized.contains(review1.id))
      #expect(!serialized.contains("r-1"))
      let review2 = try await submit(context, Self.reviewer2, second, value: 2)
      #expect(review2.pass == 2)
      let coverage = try await context.as("qc_head:head-1") { try await context.qc.getCoverage(.init()) }
      #expect(coverage.doubleReviewed == 1)
      #expect(coverage.reviewed == 1)
      #expect(coverage.inReview == 1)  // reviewer 1 holds the other item
      let agreement = try await context.as("qc_head:head-1") { try await context.qc.getAgreement(.init()) }
      #expect(agreement.doubleReviewedItems == 1)
      #expect(agreement.criteria.allSatisfy { $0.pairs == 1 })
    }
  }

  /// Both passes of a double review submitted at the same instant: each transaction's "is every
  /// slot done?" used to see the other's slot still leased, and the item stayed unreviewed for ever.
  /// Eight items, sixteen reviewers, all sixteen reviews submitted at once, three rounds.
  @Test func bothPassesSubmittedAtOnceMarkTheItemReviewed() async throws {
    try await Harness.with(settings: .init(leaseSeconds: 900, doubleReviewShare: 1)) { context in
      try await context.defineRubric()
      for round in 1...3 {
        for _ in 1...8 { try await context.deliver(Harness.item()) }
        var leased: [(String, Crm_Qualitycontrol_V1_NextItemReply)] = []
        for index in 1...16 {
          let reviewer = "qc_reviewer:r-\(round)-\(index)"
          leased.append((reviewer, try await next(context, reviewer)))
        }
        #expect(Set(leased.map(\.1.item.itemID)).count == 8, "round \(round): each item leased twice")
        let passes = try await withThrowingTaskGroup(of: Int32.self) { group in
          for (reviewer, reply) in leased {
            group.addTask { try await submit(context, reviewer, reply, value: 2).pass }
          }
          return try await group.reduce(into: [Int32]()) { $0.append($1) }
        }
        #expect(passes.sorted() == Array(repeating: 1, count: 8) + Array(repeating: 2, count: 8))
        let unreviewed = try await context.count("SELECT count(*) FROM review_items WHERE reviewed_at IS NULL")
        #expect(unreviewed == 0, "round \(round): every item is reviewed once both its passes are in")
      }
      let coverage = try await context.as("qc_head:head-1") { try await context.qc.getCoverage(.init()) }
      #expect(coverage.reviewed == 24 && coverage.doubleReviewed == 24)
    }
  }

  @Test func badSubmissionsAreRefusedPreciselyAndWriteNothing() async throws {
    try await Harness.with { context in
      try await context.defineRubric()
      try await context.deliver(Harness.item())
      let leased = try await next(context, Self.reviewer1)
      func refusal(
        _ reviewer: String = Self.reviewer1, _ change: (inout Crm_Qualitycontrol_V1_SubmitReviewRequest) -> Void
      )
        async -> (RPCError.Code?, String)
      {
        let code = await statusCode { try await submit(context, reviewer, leased, change: change) }
        let message = await failure { try await submit(context, reviewer, leased, change: change) }
        return (code, message)
      }
      let unknown = await refusal {
        $0.scores.append(
          .with {
            $0.criterion = "smile"
            $0.value = 1
          })
      }
      #expect(unknown.0 == .invalidArgument)
      #expect(unknown.1.hasPrefix("scores[4].criterion"))
      let missing = await refusal { $0.scores.removeLast() }
      #expect(missing.1.hasPrefix("scores: has no score for next_step"))
      let range = await refusal { $0.scores[1].value = 6 }
      #expect(range.1.hasPrefix("scores[1].value"))
      let otherItem = await refusal { $0.itemID = Harness.code() }
      #expect(otherItem.1.hasPrefix("lease_id"))
      let badLease = await refusal { $0.leaseID = "lease-1" }
      #expect(badLease.1.hasPrefix("lease_id"))
      let notHis = await refusal(Self.reviewer2) { _ in }
      #expect(notHis.0 == .permissionDenied)
      #expect(notHis.1.contains("not leased to r-2"))
      #expect(try await context.count("SELECT count(*) FROM reviews") == 0)
      #expect(try await context.count("SELECT count(*) FROM review_scores") == 0)
      #expect(try await context.events("crm.qualitycontrol.v1.ReviewSubmitted").isEmpty)

      let review = try await submit(context, Self.reviewer1, leased)
      #expect(review.weightedScore == 62.5)  // (1 × 2/2 + 3 × 2/5 + 2 × 2/5 + 2 × 2/2) / 8
      let second = await refusal { _ in }
      #expect(second.0 == .failedPrecondition)
      #expect(second.1.contains("submitted already"))
      let events = try await context.events("crm.qualitycontrol.v1.ReviewSubmitted")
      #expect(events.count == 1)
      let submitted = try Crm_Qualitycontrol_V1_ReviewSubmitted(serializedBytes: events[0].payload)
      #expect(submitted.review.id == review.id)
      #expect(submitted.repCode == leased.item.repCode)
      #expect(events[0].actor == "qc_reviewer:r-1")
    }
  }

  @Test func aRepeatedSubmissionWithItsRequestIDAnswersTheFirstReview() async throws {
    try await Harness.with { context in
      try await context.defineRubric()
      try await context.deliver(Harness.item())
      let leased = try await next(context, Self.reviewer1)
      let request = Crm_Qualitycontrol_V1_SubmitReviewRequest.with {
        $0.itemID = leased.item.itemID
        $0.leaseID = leased.leaseID
        $0.scores = Harness.scores(leased.rubric)
      }
      var metadata = Metadata()
      metadata.addString("submit-1", forKey: "crm-request-id")
      let first = try await context.as(Self.reviewer1) {
        try await context.qc.submitReview(request, metadata: metadata)
      }
      let again = try await context.as(Self.reviewer1) {
        try await context.qc.submitReview(request, metadata: metadata)
      }
      #expect(again == first)
      #expect(try await context.count("SELECT count(*) FROM reviews") == 1)
      #expect(try await context.events("crm.qualitycontrol.v1.ReviewSubmitted").count == 1)
    }
  }

  @Test func rubricsAreVersionedAndAnItemKeepsTheVersionItCameUnder() async throws {
    try await Harness.with { context in
      let v1 = try await context.defineRubric()
      let early = Harness.item()
      try await context.deliver(early)
      var request = Harness.rubricRequest(expectedVersion: 1)
      request.criteria.removeLast()
      let v2 = try await context.as("qc_head:head-1") { try await context.qc.defineRubric(request) }
      #expect(v2.version == 2)
      // A stale definition: ABORTED.
      let stale = await statusCode { try await context.defineRubric(expectedVersion: 1) }
      #expect(stale == .aborted)
      let late = Harness.item()
      try await context.deliver(late)
      let first = try await next(context, Self.reviewer1)
      #expect(first.item.itemID == early.itemID)
      #expect(first.rubric == v1)
      _ = try await submit(context, Self.reviewer1, first)
      let second = try await next(context, Self.reviewer1)
      #expect(second.item.itemID == late.itemID)
      #expect(second.rubric.version == 2)
      #expect(second.rubric.criteria.count == 3)
    }
  }

  @Test func rolesKeepEveryoneToHisMethods() async throws {
    try await Harness.with { context in
      let denied: [(String, () async throws -> Any)] = [
        (Self.reviewer1, { try await context.qc.defineRubric(Harness.rubricRequest()) }),
        (Self.reviewer1, { try await context.qc.getCoverage(.init()) }),
        (Self.reviewer1, { try await context.qc.getAgreement(.init()) }),
        (Self.reviewer1, { try await context.qc.getRepScores(.init()) }),
        (Self.reviewer1, { try await context.qc.getReviewerStats(.with { $0.reviewerCode = "r-2" }) }),
        ("qc_head:head-1", { try await context.qc.nextItem(.init()) }),
        ("manager:m-1", { try await context.qc.nextItem(.init()) }),
        ("head_of_sales:h-1", { try await context.qc.getCoverage(.init()) }),
        ("service:activity", { try await context.qc.nextItem(.init()) }),
        ("service:reporting", { try await context.qc.defineRubric(Harness.rubricRequest()) }),
      ]
      for (principal, call) in denied {
        let code = try await context.as(principal) { await statusCode { try await call() } }
        #expect(code == .permissionDenied, "\(principal)")
      }
      try await context.defineRubric()
      for principal in ["service:reporting", "qc_head:head-1", "operator:crmctl"] {
        let coverage = try await context.as(principal) { try await context.qc.getCoverage(.init()) }
        #expect(coverage.received == 0)
      }
      let own = try await context.as("qc_head:head-1") {
        try await context.qc.getReviewerStats(.with { $0.reviewerCode = "r-2" })
      }
      #expect(own.reviewerCode == "r-2")
    }
  }

  /// Ten reviewers ask at once, through two repositories on two connection pools (two
  /// replicas): no slot is leased twice, and each reviewer holds one lease.
  @Test func concurrentReplicasNeverLeaseOneSlotTwice() async throws {
    try await Harness.with { context in
      try await context.defineRubric()
      for _ in 0..<30 { try await context.deliver(Harness.item()) }
      try await TestSchemaPeer.with(context) { other in
        let replicas = [context.repository, other]
        let leases = try await withThrowingTaskGroup(of: String.self) { group in
          for index in 0..<10 {
            group.addTask {
              try await replicas[index % 2].nextItem(reviewer: "r-\(index)").item.itemID
            }
          }
          return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(leases.count == 10)
        #expect(Set(leases).count == 10)
      }
      #expect(try await context.count("SELECT count(*) FROM review_slots WHERE state = 'leased'") == 10)
    }
  }
}

/// A second repository on a connection pool of its own, on the same schema (a second replica).
enum TestSchemaPeer {
  static func with(
    _ context: QualityControlHarness.Context, _ body: (PostgresQualityControlRepository) async throws -> Void
  ) async throws {
    let schema = try await values(context.database, "SELECT current_schema()", as: String.self)[0]
    var configuration = try DatabaseURL.parse(LocalStack.databaseURL("quality-control"))
    configuration.apply(sessionSettings: ["search_path": schema])
    let client = PostgresClient(configuration: configuration, backgroundLogger: QualityControlHarness.logger)
    try await whileRunning(client) {
      try await body(
        PostgresQualityControlRepository(
          client: client, logger: QualityControlHarness.logger, settings: context.settings))
    }
  }
}
