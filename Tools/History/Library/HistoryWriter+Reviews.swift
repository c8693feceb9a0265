import CRMContracts
import CRMKafka
import CRMRPC
import Foundation
import GRPCCore

/// Quality-control reviews of the reports the history's activities made (issue 15's review
/// items): the generator's reviewers score each by `ReportScoring`.
extension HistoryWriter {
  static let initialReviewers = 6
  static let maximumReviewers = 40

  /// The generator's rubric as the current one (defined unless it already is).
  static func defineRubric(_ clients: HistoryClients, seed: UInt64) async throws {
    var version: Int64 = 0
    do {
      let current = try await clients.qcHead.getRubric(.init())
      if current.criteria.map(\.key) == ReportScoring.criteria.map(\.key) { return }
      version = current.version
    } catch let error as RPCError where error.code == .notFound {
      // No rubric yet.
    }
    _ = try await labelled("DefineRubric") {
      try await clients.qcHead.defineRubric(
        .with {
          $0.name = Catalogue.rubricName
          $0.criteria = ReportScoring.criteria
          $0.expectedVersion = version
        }, metadata: requestID(seed, "rubric", version))
    }
  }

  /// Waits until quality control has received `expected` items (activity makes one per meeting
  /// or call report, through the broker), then reviews every item the reviewers may take.
  /// Returns the reviews submitted.
  func reviewAll(expecting expected: Int) async throws -> Int {
    let deadline = ContinuousClock.now + .seconds(120)
    while true {
      let coverage = try await labelled("GetCoverage") { try await clients.qcHead.getCoverage(.init()) }
      if coverage.received >= expected { break }
      guard ContinuousClock.now < deadline else {
        throw HistoryError("quality control received \(coverage.received) of \(expected) review items in 120 s")
      }
      try await Task.sleep(for: .milliseconds(200))
    }
    // The reviewers in turn, one call at a time: quality control marks an item reviewed when
    // its last slot is submitted, and two passes of one item submitted at once were each seen
    // as not the last (the item then never counted as reviewed; noticed, left to its owner).
    // Nobody takes the same rep twice in a row and a second review is someone else's, so when
    // a whole turn finds nothing for anyone while items wait, one more reviewer joins.
    var submitted = 0
    try await withThrowingTaskGroup(of: Void.self) { connections in
      var pool: [GRPCClient<KafkaClientTransport>] = []
      defer { for client in pool { client.beginGracefulShutdown() } }
      func join() throws {
        let client = try clients.reviewer(pool.count + 1)
        connections.addTask { try await client.runConnections() }
        pool.append(client)
      }
      for _ in 0..<Self.initialReviewers { try join() }
      var idle = 0
      var turn = 0
      while true {
        let reviewer = Crm_Qualitycontrol_V1_QualityControl.Client(wrapping: pool[turn % pool.count])
        if try await review(as: reviewer, number: turn % pool.count) {
          idle = 0
          submitted += 1
          if submitted % 100 == 0 { connection.progress("history: \(submitted) reviews submitted") }
          continue  // the same reviewer again: he may not take the same rep twice in a row
        }
        idle += 1
        turn += 1
        guard idle >= pool.count else { continue }
        let coverage = try await labelled("GetCoverage") { try await clients.qcHead.getCoverage(.init()) }
        guard coverage.waiting > 0, pool.count < Self.maximumReviewers else { break }
        try join()
        turn = pool.count - 1
        idle = 0
      }
    }
    let coverage = try await labelled("GetCoverage") { try await clients.qcHead.getCoverage(.init()) }
    connection.progress(
      "history: \(submitted) reviews submitted; \(coverage.reviewed) of \(coverage.received) items reviewed, "
        + "\(coverage.withheld) withheld, \(coverage.waiting) waiting")
    return submitted
  }

  /// The next item `reviewer` may take, scored; false when there is none for him now.
  func review(as reviewer: Crm_Qualitycontrol_V1_QualityControl.Client<KafkaClientTransport>, number: Int)
    async throws -> Bool
  {
    let next = try await labelled("NextItem") { try await reviewer.nextItem(.init()) }
    guard !next.leaseID.isEmpty else {
      connection.logger.debug("no item for a reviewer", metadata: ["because": "\(next.emptyBecause)"])
      return false
    }
    _ = try await labelled("SubmitReview") {
      try await reviewer.submitReview(
        .with {
          $0.itemID = next.item.itemID
          $0.leaseID = next.leaseID
          $0.scores = ReportScoring.scores(of: next.item.redactedText)
        }, metadata: requestID(seed, "review", next.item.itemID, number))
    }
    return true
  }
}
