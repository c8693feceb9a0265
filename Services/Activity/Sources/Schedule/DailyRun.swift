import Foundation

/// A wall-clock time of every day (`19:00`, `09:30`) on a clock in some zone, and the instants
/// it names: the end of a working day, the morning's birthday run.
///
/// Daylight saving: a time the clocks skip (02:30 when they jump from 02:00 to 03:00) is run
/// at the jump, the first instant after it, so the day is not lost; a time they pass twice
/// (02:30 when they go back from 03:00 to 02:00) is run at the first of the two, once.
struct DailyRun: Sendable, Equatable, CustomStringConvertible {
  let hour: Int
  let minute: Int

  init?(hour: Int, minute: Int) {
    guard (0...23).contains(hour), (0...59).contains(minute) else { return nil }
    self.hour = hour
    self.minute = minute
  }

  /// `HH:MM` on a 24-hour clock, exactly (`19:00`, `07:05`).
  init?(_ text: some StringProtocol) {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
      let hour = Int(parts[0]), let minute = Int(parts[1])
    else { return nil }
    self.init(hour: hour, minute: minute)
  }

  var description: String { String(format: "%02d:%02d", hour, minute) }

  /// The instant this time names on `day` on a clock in `zone` (see the type for the rules of
  /// daylight saving).
  func instant(on day: CalendarDay, in zone: TimeZone) -> Date {
    // The wall-clock reading as if it were UTC; the instant is that less the zone's offset.
    let wall = Double(day.ordinal) * 86_400 + Double(hour * 3_600 + minute * 60)
    // The offsets in force within a day either side: at most two (before and after a change).
    let offsets = Set(
      [-86_400.0, 0, 86_400].map { Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: wall + $0))) })
    let readings = offsets.map { wall - $0 }.filter { reads($0, wall, zone) }
    if let first = readings.min() { return Date(timeIntervalSince1970: first) }
    // Skipped: the clocks jump between the readings of the two offsets; run at the jump.
    var before = wall - (offsets.max() ?? 0)
    var after = wall - (offsets.min() ?? 0)
    let offsetBefore = zone.secondsFromGMT(for: Date(timeIntervalSince1970: before))
    while after - before > 1 {
      let middle = ((before + after) / 2).rounded(.down)
      if zone.secondsFromGMT(for: Date(timeIntervalSince1970: middle)) == offsetBefore {
        before = middle
      } else {
        after = middle
      }
    }
    return Date(timeIntervalSince1970: after)
  }

  /// Whether the clock in `zone` shows `wall` (seconds as if UTC) at `instant`.
  private func reads(_ instant: Double, _ wall: Double, _ zone: TimeZone) -> Bool {
    instant + Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: instant))) == wall
  }

  /// The first run strictly after `instant`, and the day it is for.
  func next(after instant: Date, in zone: TimeZone) -> (day: CalendarDay, at: Date) {
    let today = CalendarDay(instant, in: zone)
    for offset in -1...2 {
      let day = today.adding(days: offset)
      let at = self.instant(on: day, in: zone)
      if at > instant { return (day, at) }
    }
    let day = today.adding(days: 3)
    return (day, self.instant(on: day, in: zone))
  }

  /// The last run at or before `instant`, and the day it is for.
  func last(atOrBefore instant: Date, in zone: TimeZone) -> (day: CalendarDay, at: Date) {
    let today = CalendarDay(instant, in: zone)
    for offset in [1, 0, -1, -2] {
      let day = today.adding(days: offset)
      let at = self.instant(on: day, in: zone)
      if at <= instant { return (day, at) }
    }
    let day = today.adding(days: -3)
    return (day, self.instant(on: day, in: zone))
  }

  /// The days whose run fell in `(since, until]`, oldest first: what a runner that was down
  /// since `since` has to catch up.
  func days(after since: Date, through until: Date, in zone: TimeZone) -> [CalendarDay] {
    guard since < until else { return [] }
    var days: [CalendarDay] = []
    var run = next(after: since, in: zone)
    while run.at <= until {
      days.append(run.day)
      run = next(after: run.at, in: zone)
    }
    return days
  }
}
