import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Makes each manager's end-of-day report when his working day ends (on his clock), every
/// `interval`: the days whose end passed and that have no report yet, as far back as
/// `settings.catchUpDays` (a replica that was down catches up when it starts). Several replicas
/// may run at once: each (manager, day) is reported once (`makeHygieneReport`).
struct EndOfDayReports: Service {
  let repository: PostgresActivityRepository
  let settings: HygieneSettings
  let interval: Duration
  /// When this runner last made every report due: until another day ends, nothing to do.
  let lastSweep = LastSweep()

  final class LastSweep: Sendable {
    let at = Mutex<Date?>(nil)
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

  /// Every report due by `now`; a failure is logged and tried again next time.
  func sweep(now: Date) async {
    do {
      let made = try await reportDue(now: now)
      if made > 0 { repository.logger.info("end-of-day reports made", metadata: ["reports": "\(made)"]) }
    } catch {
      repository.logger.warning("the end-of-day reports failed", metadata: ["error": "\(String(reflecting: error))"])
    }
  }

  /// How long after a day's end its reports wait: the deals events and the activities of its
  /// last moments reach the tables first.
  static let settle: TimeInterval = 60

  /// The reports due by `now` and not made yet; how many this call made.
  func reportDue(now: Date) async throws -> Int {
    let ended = now.addingTimeInterval(-Self.settle)
    // Skipped unless a day has ended on some manager's clock since the last full pass (the
    // managers and deals are not read every 30 s). A manager who moves to a zone whose day ended
    // already waits for the next end of a day on any clock.
    let zones = [nil] + (try await repository.managerZones()).map(Optional.some)
    let latestEnd = zones.map { settings.endOfDay.last(atOrBefore: ended, in: settings.zone($0).zone).at }.max()
    if let previous = lastSweep.at.withLock({ $0 }), let latestEnd, latestEnd <= previous { return 0 }
    // A day closed a few days ago at most (zones are within ±14 h); a day's slack either side.
    let since = now.addingTimeInterval(-Double(settings.catchUpDays + 2) * 86_400)
    let made = try await repository.hygieneReportsMade(from: CalendarDay(since, in: CalendarDay.utc))
    var count = 0
    for (manager, zoneName) in try await repository.hygieneManagers(since: since) {
      for day in Self.daysDue(zoneName: zoneName, now: ended, settings: settings)
      where !made.contains("\(manager) \(day)") {
        if Task.isCancelled { return count }
        let outcome = try await repository.makeHygieneReport(
          HygieneDay(manager: manager, zoneName: zoneName, day: day, settings: settings), now: now)
        if case .made = outcome { count += 1 }
      }
    }
    lastSweep.at.withLock { $0 = ended }
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
