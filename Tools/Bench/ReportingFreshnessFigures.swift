import CRMEvents
import Foundation
import Synchronization

/// When each event was made and when the inbox committed it: ages are envelope time → commit
/// (the moment its projection became visible), taken in the inbox's commit callback.
final class FreshnessTracker: Sendable {
  private struct State {
    var pending: [String: (at: Date, measured: Bool)] = [:]
    var sent = 0
    var applied = 0
    var deadLettered = 0
    var agesMs: [Double] = []
    var firstMeasured: Date?
    var lastMeasuredApplied: Date?
    var transactions = 0
    var handledBatches = 0
    var handledEvents = 0
    var handlerTime = Duration.zero
  }

  private let state = Mutex(State())

  var sentCount: Int { state.withLock { $0.sent } }
  var appliedCount: Int { state.withLock { $0.applied } }
  var deadLettered: Int { state.withLock { $0.deadLettered } }

  /// Records events about to be produced; those from index `measuredFrom` on count.
  func sent(_ events: [ReportingFreshnessEvents.Made], measuredFrom: Int) {
    state.withLock { state in
      for (index, event) in events.enumerated() {
        let measured = index >= measuredFrom
        state.pending[event.eventID] = (event.at, measured)
        if measured && state.firstMeasured == nil { state.firstMeasured = event.at }
      }
      state.sent += events.count
    }
  }

  func committed(_ outcome: InboxBatchOutcome, at now: Date) {
    state.withLock { state in
      state.deadLettered += outcome.deadLettered
      if !outcome.applied.isEmpty { state.transactions += 1 }
      for id in outcome.applied {
        guard let sent = state.pending.removeValue(forKey: id) else { continue }
        state.applied += 1
        guard sent.measured else { continue }
        state.agesMs.append(max(0, now.timeIntervalSince(sent.at)) * 1_000)
        state.lastMeasuredApplied = now
      }
    }
  }

  func handled(_ events: Int, in duration: Duration) {
    state.withLock { state in
      state.handledBatches += 1
      state.handledEvents += events
      state.handlerTime += duration
    }
  }

  func waitUntilApplied(_ wanted: Int, within limit: Duration) async throws {
    let deadline = ContinuousClock.now + limit
    while appliedCount < wanted {
      guard ContinuousClock.now < deadline else {
        throw FreshnessBenchError("\(appliedCount) of \(wanted) events applied within \(limit)")
      }
      try await Task.sleep(for: .milliseconds(10))
    }
  }

  /// Waits until every event sent is applied or dead-lettered; false when `limit` ran out first.
  func waitUntilAllApplied(within limit: Duration) async throws -> Bool {
    let deadline = ContinuousClock.now + limit
    while state.withLock({ $0.applied + $0.deadLettered < $0.sent }) {
      guard ContinuousClock.now < deadline else { return false }
      try await Task.sleep(for: .milliseconds(5))
    }
    return true
  }

  func fill(_ figures: inout ReportingFreshnessBench.Figures) {
    state.withLock { state in
      let sorted = state.agesMs.sorted()
      func percentile(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        return sorted[max(0, min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1))]
      }
      figures.events = sorted.count
      figures.p50Ms = percentile(0.5)
      figures.p99Ms = percentile(0.99)
      figures.maxMs = sorted.last ?? .nan
      if let first = state.firstMeasured, let last = state.lastMeasuredApplied {
        figures.appliedPerSecond = Double(sorted.count) / max(0.001, last.timeIntervalSince(first))
      }
      figures.unapplied = state.sent - state.applied - state.deadLettered
      figures.transactions = state.transactions
      figures.handledBatches = state.handledBatches
      figures.handledEvents = state.handledEvents
      figures.handlerMs = ReportingFreshnessBench.milliseconds(state.handlerTime)
    }
  }
}

struct FreshnessBenchError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

extension ReportingFreshnessBench {
  struct Figures {
    var rate: Int
    var seconds: Int
    var fetchWaitMs: Int
    var offeredPerSecond = 0.0
    var appliedPerSecond = 0.0
    var events = 0
    var p50Ms = Double.nan
    var p99Ms = Double.nan
    var maxMs = Double.nan
    /// (seconds into the measured window, events produced and not yet applied), once a second.
    var backlog: [(seconds: Double, events: Int)] = []
    var drained = false
    var drainMs = 0.0
    var unapplied = 0
    var transactions = 0
    var handledBatches = 0
    var handledEvents = 0
    var handlerMs = 0.0
    var problems: [String] = []

    init(rate: Int, seconds: Int, fetchWaitMs: Int) {
      self.rate = rate
      self.seconds = seconds
      self.fetchWaitMs = fetchWaitMs
    }

    var backlogMax: Int { backlog.map { $0.events }.max() ?? 0 }

    /// How much the backlog grew over the measured window, by its least-squares trend: a
    /// consumer that keeps up stays flat (its backlog only swings with each fetch).
    var backlogGrowth: Int {
      guard backlog.count >= 2 else { return 0 }
      let n = Double(backlog.count)
      let meanT = backlog.map { $0.seconds }.reduce(0, +) / n
      let meanB = backlog.map { Double($0.events) }.reduce(0, +) / n
      let covariance = backlog.map { ($0.seconds - meanT) * (Double($0.events) - meanB) }.reduce(0, +)
      let variance = backlog.map { ($0.seconds - meanT) * ($0.seconds - meanT) }.reduce(0, +)
      guard variance > 0 else { return 0 }
      return Int((covariance / variance * Double(seconds)).rounded())
    }

    /// Everything applied once the stream stopped, and a backlog that grew by less than one
    /// second of events over the run.
    var keptUp: Bool { drained && backlogGrowth <= rate }

    func print() {
      Swift.print(
        String(format: "offered  %8.1f events/s   applied %8.1f events/s", offeredPerSecond, appliedPerSecond))
      Swift.print(
        String(
          format: "freshness p50 %.1f ms   p99 %.1f ms   max %.1f ms   (%d events)", p50Ms, p99Ms, maxMs, events))
      Swift.print(
        String(
          format: "backlog: max %d events, trend over the run %+d events; all applied %.0f ms after the last event",
          backlogMax, backlogGrowth, drainMs))
      Swift.print(
        String(
          format: "handler: %d batches, %.1f events each, %.2f ms per batch, %.3f ms per event; %d transactions",
          handledBatches, Double(handledEvents) / Double(max(1, handledBatches)),
          handlerMs / Double(max(1, handledBatches)), handlerMs / Double(max(1, handledEvents)), transactions))
      Swift.print(keptUp ? "kept up: yes" : "kept up: NO — the consumer fell behind")
      for problem in problems { Swift.print("problem: \(problem)") }
    }

    var document: [String: Any] {
      [
        "rate": rate,
        "seconds": seconds,
        "fetch_wait_ms": fetchWaitMs,
        "offered_per_s": offeredPerSecond,
        "applied_per_s": appliedPerSecond,
        "events": events,
        "freshness_p50_ms": finite(p50Ms),
        "freshness_p99_ms": finite(p99Ms),
        "freshness_max_ms": finite(maxMs),
        "backlog_max": backlogMax,
        "backlog_growth": backlogGrowth,
        "drain_ms": drainMs,
        "unapplied": unapplied,
        "handler_batches": handledBatches,
        "handler_events_per_batch": Double(handledEvents) / Double(max(1, handledBatches)),
        "handler_ms_per_batch": handlerMs / Double(max(1, handledBatches)),
        "kept_up": keptUp,
        "problems": problems,
      ]
    }

    /// JSON has no NaN: a figure never taken is null.
    private func finite(_ value: Double) -> Any { value.isFinite ? value : NSNull() }
  }
}
