import CRMContracts
import CRMDomain
import Foundation

/// Wall-clock times in a manager's time zone: due times given as "10:00 on his clock", due times
/// shown on it, and his calendar days.
struct LocalClock: Sendable {
  static let zoneLength = 64

  let zone: TimeZone
  let calendar: Calendar

  init(_ zone: TimeZone) {
    self.zone = zone
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = zone
    self.calendar = calendar
  }

  static let utc = LocalClock(TimeZone(identifier: "UTC")!)

  /// An IANA zone name (`Europe/Moscow`, `UTC`), checked against the system's zone database.
  static func zone(_ identifier: String, _ field: String) throws(InvalidField) -> TimeZone {
    try zoneName(identifier, field).zone
  }

  /// The zone of `identifier` and its name as given (trimmed): Foundation may name a zone
  /// otherwise (`UTC` as `GMT`), and a manager sees back the name he chose.
  static func zoneName(_ identifier: String, _ field: String) throws(InvalidField) -> (name: String, zone: TimeZone) {
    let name = try Text.field(identifier, field, limit: zoneLength, required: true)
    guard name == "UTC" || TimeZone.knownTimeZoneIdentifiers.contains(name), let zone = TimeZone(identifier: name)
    else {
      throw InvalidField(
        field: field, reason: "\(Text.quoted(name)) is not a time zone (an IANA name, e.g. Europe/Moscow)")
    }
    return (name, zone)
  }

  /// The instant `local` names on this clock. Fields are range-checked first; a time the clocks
  /// skip (moving forward) is refused; a time they pass twice (moving back) is the first one.
  func instant(of local: Crm_Activity_V1_LocalDateTime, _ field: String) throws(InvalidField) -> Date {
    try local.requireKnownFields(field)
    let date = try day(year: local.year, month: local.month, day: local.day, field)
    guard (0...23).contains(local.hour) else {
      throw InvalidField(field: "\(field).hour", reason: "is \(local.hour); expected 0 to 23")
    }
    guard (0...59).contains(local.minute) else {
      throw InvalidField(field: "\(field).minute", reason: "is \(local.minute); expected 0 to 59")
    }
    var components = date
    components.hour = Int(local.hour)
    components.minute = Int(local.minute)
    guard let instant = calendar.date(from: components) else {
      throw InvalidField(field: field, reason: "\(Self.text(local)) is not a time on the \(zone.identifier) clock")
    }
    let back = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
    guard back.year == components.year, back.month == components.month, back.day == components.day,
      back.hour == components.hour, back.minute == components.minute
    else {
      throw InvalidField(
        field: field,
        reason: "\(Self.text(local)) does not exist in \(zone.identifier) (the clocks skip it); choose another time")
    }
    // Of two instants with this reading, the earlier.
    let hourBefore = instant.addingTimeInterval(-3600)
    let reading = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: hourBefore)
    if reading.hour == components.hour, reading.minute == components.minute, reading.day == components.day {
      return hourBefore
    }
    return instant
  }

  /// The instants of `date`'s day on this clock: its start, and the start of the next day.
  func dayRange(_ date: Crm_Common_V1_Date, _ field: String) throws(InvalidField) -> (start: Date, end: Date) {
    try date.requireKnownFields(field)
    let components = try day(year: date.year, month: date.month, day: date.day, field)
    guard let start = calendar.date(from: components), let end = calendar.date(byAdding: .day, value: 1, to: start)
    else { throw InvalidField(field: field, reason: "is not a day on the \(zone.identifier) clock") }
    return (calendar.startOfDay(for: start), calendar.startOfDay(for: end))
  }

  /// `instant` as this clock shows it: `2026-12-02 10:00`.
  func reading(_ instant: Date) -> String {
    let c = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
    return String(format: "%04d-%02d-%02d %02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
  }

  /// Year, month and day range-checked before the calendar sees them, then checked as a date.
  private func day(year: Int32, month: Int32, day: Int32, _ field: String) throws(InvalidField) -> DateComponents {
    guard (1...9999).contains(year) else {
      throw InvalidField(field: "\(field).year", reason: "is \(year); expected 1 to 9999")
    }
    guard (1...12).contains(month) else {
      throw InvalidField(field: "\(field).month", reason: "is \(month); expected 1 to 12")
    }
    guard (1...31).contains(day) else {
      throw InvalidField(field: "\(field).day", reason: "is \(day); expected 1 to 31")
    }
    let components = DateComponents(year: Int(year), month: Int(month), day: Int(day))
    guard components.isValidDate(in: calendar) else {
      throw InvalidField(field: field, reason: String(format: "%04d-%02d-%02d is not a date", year, month, day))
    }
    return components
  }

  static func text(_ local: Crm_Activity_V1_LocalDateTime) -> String {
    String(format: "%04d-%02d-%02d %02d:%02d", local.year, local.month, local.day, local.hour, local.minute)
  }
}
