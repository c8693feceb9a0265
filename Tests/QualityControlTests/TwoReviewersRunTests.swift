import CRMContracts
import CRMTestSupport
import Foundation
import Testing

@testable import QualityControlService

/// The run the issue asks for: two reviewers, 200 items from seven reps, 20% double-reviewed.
/// Every item gets every review it needs; the coverage and agreement reports are printed.
@Suite("Two reviewers, 200 items")
struct TwoReviewersRunTests {
  typealias Harness = QualityControlHarness

  @Test(.timeLimit(.minutes(3)))
  func twoHundredItemsAreAllReviewed() async throws {
    try await Harness.with(settings: .init(leaseSeconds: 900, doubleReviewShare: 0.2)) { context in
      let rubric = try await context.defineRubric()
      var random = SplitMix64(seed: 0x15_2026)
      let reps = (0..<7).map { _ in Harness.code(using: &random) }
      // Each item's "true" score per criterion; reviewers see it with some noise.
      var truth: [String: [String: Int32]] = [:]
      for index in 0..<200 {
        let item = Harness.item(
          id: Harness.code(using: &random), rep: reps[Int(random.next() % 7)],
          occurredAt: Date(timeIntervalSinceNow: -Double(200 - index) * 3_600 * 3))
        truth[item.itemID] = Dictionary(
          uniqueKeysWithValues: rubric.criteria.map { ($0.key, Int32(random.next() % UInt64($0.scaleMax + 1))) })
        try await context.deliver(item)
      }
      let reviewers = ["qc_reviewer:r-1", "qc_reviewer:r-2"]
      var idle = 0
      var turn = 0
      while idle < reviewers.count {
        let reviewer = reviewers[turn % reviewers.count]
        turn += 1
        let leased = try await context.as(reviewer) { try await context.qc.nextItem(.init()) }
        guard !leased.leaseID.isEmpty else {
          idle += 1
          continue
        }
        idle = 0
        let scores = leased.rubric.criteria.map { criterion in
          let actual = truth[leased.item.itemID]![criterion.key]!
          // 70%: the true score; 20%: one step off; 10%: anything on the scale.
          let roll = random.next() % 10
          let value: Int32 =
            roll < 7
            ? actual
            : roll < 9
              ? min(max(actual + (random.next() % 2 == 0 ? 1 : -1), 0), criterion.scaleMax)
              : Int32(random.next() % UInt64(criterion.scaleMax + 1))
          return Crm_Qualitycontrol_V1_Score.with {
            $0.criterion = criterion.key
            $0.value = value
          }
        }
        _ = try await context.as(reviewer) {
          try await context.qc.submitReview(
            .with {
              $0.itemID = leased.item.itemID
              $0.leaseID = leased.leaseID
              $0.scores = scores
            })
        }
      }
      let (coverage, agreement, scores) = try await context.as("qc_head:head-1") {
        (
          try await context.qc.getCoverage(.init()), try await context.qc.getAgreement(.init()),
          try await context.qc.getRepScores(.init())
        )
      }
      print(
        "QC coverage: received \(coverage.received), withheld \(coverage.withheld), awaiting rubric "
          + "\(coverage.awaitingRubric), reviewed \(coverage.reviewed), in review \(coverage.inReview), waiting "
          + "\(coverage.waiting), reviews submitted \(coverage.reviewsSubmitted), double-review items "
          + "\(coverage.doubleReviewItems) (share \(coverage.doubleReviewShare)), double-reviewed "
          + "\(coverage.doubleReviewed), oldest unreviewed \(coverage.oldestUnreviewedAgeSeconds) s")
      print("QC agreement (rubric version \(agreement.rubricVersion), \(agreement.doubleReviewedItems) items):")
      for criterion in agreement.criteria {
        print(
          "  \(criterion.criterion) (0–\(criterion.scaleMax)): pairs \(criterion.pairs), quadratic-weighted kappa "
            + "\(criterion.weightedKappa), unweighted \(criterion.unweightedKappa), exact agreement \(criterion.exactAgreement)"
        )
      }
      for reviewer in ["r-1", "r-2"] {
        let stats = try await context.as("qc_head:head-1") {
          try await context.qc.getReviewerStats(.with { $0.reviewerCode = reviewer })
        }
        print("QC reviewer \(reviewer): \(try stats.jsonString())")
      }
      print(
        "QC rep scores: \(scores.scores.count) rows (rep code × ISO week), e.g. \(try scores.scores[0].jsonString())")

      #expect(coverage.received == 200)
      #expect(coverage.reviewed == 200)
      #expect(coverage.waiting == 0 && coverage.inReview == 0)
      #expect(coverage.oldestUnreviewedAgeSeconds == 0)
      #expect(coverage.reviewsSubmitted == 200 + coverage.doubleReviewItems)
      #expect(coverage.doubleReviewed == coverage.doubleReviewItems)
      #expect((25...55).contains(coverage.doubleReviewItems))
      #expect(agreement.doubleReviewedItems == coverage.doubleReviewItems)
      #expect(agreement.criteria.allSatisfy { $0.defined && $0.weightedKappa > 0.3 })
      // Every double-reviewed item went to both reviewers, once each.
      #expect(
        try await context.count(
          "SELECT count(*) FROM (SELECT item_id FROM reviews GROUP BY item_id HAVING count(DISTINCT reviewer) = 2) d")
          == Int(coverage.doubleReviewItems))
      // Never the same rep twice in a row for a reviewer.
      for reviewer in ["r-1", "r-2"] {
        let reps = try await values(
          context.database,
          """
          SELECT i.rep_code FROM leases l JOIN review_items i ON i.id = l.item_id
          WHERE l.reviewer = \(reviewer) ORDER BY l.granted_at, l.id
          """, as: String.self)
        #expect(zip(reps, reps.dropFirst()).allSatisfy { $0 != $1 })
      }
    }
  }
}
