import CRMContracts
import CRMDomain
import Foundation
import Testing

@testable import ActivityService

/// Due times on a manager's clock: zones, readings, days, and the times daylight saving skips.
@Suite("Task due times")
struct LocalClockTests {
  static func local(_ year: Int32, _ month: Int32, _ day: Int32, _ hour: Int32, _ minute: Int32)
    -> Crm_Activity_V1_LocalDateTime
  {
    .with {
      $0.year = year
      $0.month = month
      $0.day = day
      $0.hour = hour
      $0.minute = minute
    }
  }

  static func refusal(_ body: () throws -> Void) -> InvalidField? {
    do {
      try body()
      return nil
    } catch let error as InvalidField {
      return error
    } catch {
      Issue.record("not an InvalidField: \(error)")
      return nil
    }
  }

  @Test func aLocalTimeIsReadOnTheAssigneesClock() throws {
    let moscow = LocalClock(try LocalClock.zone("Europe/Moscow", "time_zone"))
    let due = try moscow.instant(of: Self.local(2026, 12, 2, 10, 0), "due_local")
    // Moscow is UTC+3 all year.
    #expect(LocalClock.utc.reading(due) == "2026-12-02 07:00")
    #expect(moscow.reading(due) == "2026-12-02 10:00")
    let vladivostok = LocalClock(try LocalClock.zone("Asia/Vladivostok", "time_zone"))
    #expect(vladivostok.reading(due) == "2026-12-02 17:00")

    let day = try moscow.dayRange(
      .with {
        $0.year = 2026
        $0.month = 12
        $0.day = 2
      }, "due_on")
    #expect(LocalClock.utc.reading(day.start) == "2026-12-01 21:00")
    #expect(day.end.timeIntervalSince(day.start) == 86_400)
  }

  @Test func timesTheClocksSkipAreRefusedAndTimesTheyRepeatAreTheEarlier() throws {
    let berlin = LocalClock(try LocalClock.zone("Europe/Berlin", "time_zone"))
    // 2026-03-29: 02:00 → 03:00 in Berlin.
    let skipped = try #require(Self.refusal { _ = try berlin.instant(of: Self.local(2026, 3, 29, 2, 30), "due_local") })
    #expect(skipped.field == "due_local" && skipped.reason.contains("does not exist in Europe/Berlin"), "\(skipped)")
    // 2026-10-25: 03:00 → 02:00; 02:30 comes twice, first at 00:30 UTC.
    let repeated = try berlin.instant(of: Self.local(2026, 10, 25, 2, 30), "due_local")
    #expect(LocalClock.utc.reading(repeated) == "2026-10-25 00:30")
    // A day with 23 hours.
    let short = try berlin.dayRange(
      .with {
        $0.year = 2026
        $0.month = 3
        $0.day = 29
      }, "due_on")
    #expect(short.end.timeIntervalSince(short.start) == 23 * 3600)
  }

  @Test func fieldsAreRangeCheckedBeforeTheCalendarSeesThem() throws {
    let utc = LocalClock.utc
    let cases: [(Crm_Activity_V1_LocalDateTime, String)] = [
      (Self.local(0, 1, 1, 0, 0), "due_local.year"),
      (Self.local(.max, 1, 1, 0, 0), "due_local.year"),
      (Self.local(2026, 13, 1, 0, 0), "due_local.month"),
      (Self.local(2026, .min, 1, 0, 0), "due_local.month"),
      (Self.local(2026, 1, 32, 0, 0), "due_local.day"),
      (Self.local(2026, 2, 30, 0, 0), "due_local"),
      (Self.local(2026, 1, 1, 24, 0), "due_local.hour"),
      (Self.local(2026, 1, 1, -1, 0), "due_local.hour"),
      (Self.local(2026, 1, 1, 0, 60), "due_local.minute"),
      (Self.local(2026, 1, 1, 0, .max), "due_local.minute"),
    ]
    for (local, field) in cases {
      #expect(Self.refusal { _ = try utc.instant(of: local, "due_local") }?.field == field, "\(local)")
    }
    for zone in ["", "Mars/Olympus", "Europe/Moscow\u{0}", "../../etc/passwd", String(repeating: "A", count: 1000)] {
      #expect(Self.refusal { _ = try LocalClock.zone(zone, "time_zone") }?.field == "time_zone", "\(zone.prefix(20))")
    }
    #expect(try LocalClock.zone("UTC", "time_zone").secondsFromGMT() == 0)
  }
}
