import CRMContracts
import CRMKafka
import CRMRPC
import Foundation
import GRPCCore

/// Quality-control reviews of the reports the history's activities made (issue 15's review
/// items): the generator's reviewers score each by `ReportScoring`.
extension HistoryWriter {
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
    var submitted = 0
    var idle = 0
    var turn = 0
    // Each reviewer in turn until neither may take anything (a second review of an item is
    // for the reviewer who did not make the first).
    while idle < clients.reviewers.count {
      let reviewer = clients.reviewers[turn % clients.reviewers.count]
      let next = try await labelled("NextItem") { try await reviewer.nextItem(.init()) }
      guard !next.leaseID.isEmpty else {
        connection.logger.debug("no item for a reviewer", metadata: ["because": "\(next.emptyBecause)"])
        idle += 1
        turn += 1
        continue
      }
      idle = 0
      _ = try await labelled("SubmitReview") {
        try await reviewer.submitReview(
          .with {
            $0.itemID = next.item.itemID
            $0.leaseID = next.leaseID
            $0.scores = ReportScoring.scores(of: next.item.redactedText)
          }, metadata: requestID(seed, "review", next.item.itemID, turn % clients.reviewers.count))
      }
      submitted += 1
      if submitted % 100 == 0 { connection.progress("history: \(submitted) reviews submitted") }
    }
    let coverage = try await labelled("GetCoverage") { try await clients.qcHead.getCoverage(.init()) }
    connection.progress(
      "history: \(submitted) reviews submitted; \(coverage.reviewed) of \(coverage.received) items reviewed, "
        + "\(coverage.withheld) withheld, \(coverage.waiting) waiting")
    return submitted
  }
}
