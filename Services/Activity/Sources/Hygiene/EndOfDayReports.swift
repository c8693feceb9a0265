import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Makes each manager's end-of-day report when his working day ends (on his clock), every
/// `interval`: the days whose end passed and that have no report yet, as far back as
/// `settings.catchUpDays` (a replica that was down catches up when it starts), never before
/// reports started (`hygiene_start`). Several replicas may run at once: each (manager, day) is
/// reported once (`makeHygieneReport`).
struct EndOfDayReports: Service {
  let repository: PostgresActivityRepository
  let settings: HygieneSettings
  let interval: Duration
  /// What this runner keeps between passes.
  let state = State()

  final class State: Sendable {
    let memory = Mutex(Memory())
  }

  struct Memory: Sendable {
    /// When this runner last went through every report due: until another day ends (or a
    /// failed report's wait is over), nothing to do.
    var lastSweep: Date?
    /// The reports that failed (by `"manager day"`), each waiting before it is tried again, so
    /// that one that keeps failing neither holds up the others nor makes every pass run again.
    var failed: [String: Retry] = [:]
    /// After a pass that failed as a whole (the database away): its wait.
    var passRetry: Retry?
  }

  struct Retry: Sendable, Equatable {
    var at: Date
    var wait: TimeInterval

    /// The next wait after `previous`: a minute, doubling, an hour at most.
    static func after(_ previous: Retry?, now: Date) -> Retry {
      let wait = min(max(firstRetry, (previous?.wait ?? 0) * 2), longestRetry)
      return Retry(at: now.addingTimeInterval(wait), wait: wait)
    }

    static let firstRetry: TimeInterval = 60
    static let longestRetry: TimeInterval = 3_600
  }

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        // The first pass waits one interval: the inbox catches up on the deals events of the
        // time the service was down before the missed days are reported.
        while true {
          try await Task.sleep(for: interval)
          await sweep(now: Date())
        }
      }
    } catch is CancellationError {
      // Shutting down.
    }
  }

  /// Every report due by `now`; a failure is logged and tried again after a wait.
  func sweep(now: Date) async {
    do {
      let made = try await reportDue(now: now)
      if made > 0 { repository.logger.info("end-of-day reports made", metadata: ["reports": "\(made)"]) }
    } catch {
      repository.logger.warning("the end-of-day reports failed", metadata: ["error": "\(String(reflecting: error))"])
    }
  }

  /// How long after a day's end its reports wait: the deals events and the activities of its
  /// last moments reach the tables first (the inbox does not tell how far the deals events
  /// have come: see the README).
  static let settle: TimeInterval = 60

  /// The reports due by `now` and not made yet; how many this call made. A report that fails
  /// (e.g. its event refused) is logged and waits (`Retry`) while the others are made; a pass
  /// that fails as a whole throws and waits too.
  func reportDue(now: Date) async throws -> Int {
    if let retry = state.memory.withLock({ $0.passRetry }), now < retry.at { return 0 }
    do {
      let made = try await pass(now: now)
      state.memory.withLock { $0.passRetry = nil }
      return made
    } catch {
      state.memory.withLock { $0.passRetry = Retry.after($0.passRetry, now: now) }
      throw error
    }
  }

  private func pass(now: Date) async throws -> Int {
    let ended = now.addingTimeInterval(-Self.settle)
    // Skipped unless a day has ended on some manager's clock since the last full pass, or a
    // failed report's wait is over (the managers and deals are not read every 30 s). A manager
    // who moves to a zone whose day ended already waits for the next end of a day on any clock.
    let zones = [nil] + (try await repository.managerZones()).map(Optional.some)
    let latestEnd = zones.map { settings.endOfDay.last(atOrBefore: ended, in: settings.zone($0).zone).at }.max()
    var memory = state.memory.withLock { $0 }
    let retryDue = memory.failed.values.contains { $0.at <= now }
    if let previous = memory.lastSweep, let latestEnd, latestEnd <= previous, !retryDue { return 0 }
    // No day that ended before reports started (earlier days' deals lack their times).
    let start = try await repository.hygieneStart()
    // A day closed a few days ago at most (zones are within ±14 h); a day's slack either side.
    let since = now.addingTimeInterval(-Double(settings.catchUpDays + 2) * 86_400)
    let made = try await repository.hygieneReportsMade(from: CalendarDay(since, in: CalendarDay.utc))
    var count = 0
    var due: Set<String> = []
    defer {
      let failed = memory.failed
      state.memory.withLock { $0.failed = failed }
    }
    for (manager, zoneName) in try await repository.hygieneManagers(since: since) {
      for day in Self.daysDue(zoneName: zoneName, now: ended, settings: settings) {
        let key = "\(manager) \(day)"
        guard !made.contains(key) else { continue }
        let report = HygieneDay(manager: manager, zoneName: zoneName, day: day, settings: settings)
        guard report.asOf >= start else { continue }
        due.insert(key)
        if let retry = memory.failed[key], retry.at > now { continue }
        if Task.isCancelled { return count }
        do {
          if case .made = try await repository.makeHygieneReport(report, now: now) { count += 1 }
          memory.failed[key] = nil
        } catch {
          if Task.isCancelled { return count }
          let retry = Retry.after(memory.failed[key], now: now)
          memory.failed[key] = retry
          repository.logger.error(
            "the end-of-day report failed; the others go on, this one is tried again later",
            metadata: [
              "manager": "\(manager)", "day": "\(day)", "retry-in-s": "\(Int(retry.wait))",
              "error": "\(String(reflecting: error))",
            ])
        }
      }
    }
    // Failures of days no longer due (made by another, or past the catch-up) are forgotten.
    memory.failed = memory.failed.filter { due.contains($0.key) }
    state.memory.withLock { $0.lastSweep = ended }
    return count
  }

  /// The working days whose end (on the clock of `zoneName`, else the company's) has come by
  /// `now`: the last one and the `catchUpDays` calendar days before it, oldest first.
  static func daysDue(zoneName: String?, now: Date, settings: HygieneSettings) -> [CalendarDay] {
    let zone = settings.zone(zoneName).zone
    let last = settings.endOfDay.last(atOrBefore: now, in: zone).day
    return settings.calendar.workingDays(from: last.adding(days: -settings.catchUpDays), through: last)
  }
}
