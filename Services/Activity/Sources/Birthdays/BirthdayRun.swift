import Foundation
import Logging
import ServiceLifecycle

/// Each morning at the configured time on the company's clock, asks the source for the day's
/// birthdays and greets each contact once (`greetBirthday`'s claim). Looks every `interval`:
/// a replica that starts after the day's time runs that day then (not earlier days: a greeting
/// days late is no greeting). Several replicas may run at once; a run cut short by a restart
/// is run again and greets only the contacts not greeted yet.
struct BirthdayRun: Service {
  let repository: PostgresActivityRepository
  let source: any BirthdaySource
  let time: DailyRun
  let zone: TimeZone
  let sender: MailSender?
  var interval: Duration = .seconds(60)

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        while true {
          await runDue(now: Date())
          try await Task.sleep(for: interval)
        }
      }
    } catch is CancellationError {
      // Shutting down: a run cut short goes on at the next start.
    }
  }

  /// Runs today's greetings when their time has come and they are not done; a failure (the
  /// contacts service unreachable) is logged and tried again next time.
  func runDue(now: Date) async {
    do {
      if let greeted = try await greetDue(now: now), greeted > 0 {
        repository.logger.info("birthday greetings made", metadata: ["contacts": "\(greeted)"])
      }
    } catch {
      // Cut short by the shutdown: the next start goes on with it.
      if Task.isCancelled { return }
      repository.logger.warning("the birthday run failed", metadata: ["error": "\(String(reflecting: error))"])
    }
  }

  /// The day whose run is due at `now`, if any: today on the company's clock, once its time passed.
  func dayDue(now: Date) -> CalendarDay? { Self.dayDue(now: now, time: time, zone: zone) }

  static func dayDue(now: Date, time: DailyRun, zone: TimeZone) -> CalendarDay? {
    let last = time.last(atOrBefore: now, in: zone)
    return last.day == CalendarDay(now, in: zone) ? last.day : nil
  }

  /// Greets the birthdays of the day due; how many this call greeted (nil: nothing was due).
  func greetDue(now: Date) async throws -> Int? {
    guard let day = dayDue(now: now), try await !repository.birthdayRunFinished(day) else { return nil }
    let contacts = try await source.birthdays(on: day)
    var greeted = 0
    for contact in contacts {
      if Task.isCancelled { return greeted }
      guard let greeting = BirthdayGreeting(contact) else { continue }
      let outcome = try await repository.greetBirthday(greeting, day: day, sender: sender, zone: zone, now: now)
      if case .greeted = outcome { greeted += 1 }
    }
    try await repository.recordBirthdayRun(day, contacts: contacts.count)
    return greeted
  }
}
