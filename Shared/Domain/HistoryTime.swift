import Foundation

/// History import (issue 16): a company adopting the CRM brings its past, so an operator may
/// say when a change happened (`occurred_at`) instead of now. Reports of time in stage and
/// forecast backtests read these times, so they are held to what could have happened: not to
/// come, not before the CRM's epoch, and not before the record's own last change (its history
/// stays in order). One rule for every service that takes `occurred_at` from operators.
public enum HistoryTime {
  /// A clock a little ahead of the service's is tolerated (the time is taken as now); a time to
  /// come is refused.
  public static let clockSkew: TimeInterval = 5
  /// 2000-01-01T00:00:00Z: nothing the CRM records happened before.
  public static let earliest = Date(timeIntervalSince1970: 946_684_800)

  /// The checked requested time (nil when none was requested: the change happens now).
  /// PERMISSION_DENIED unless the caller is an operator; INVALID_ARGUMENT naming `field` when
  /// it is in the future or before 2000-01-01. A time within `clockSkew` ahead is now: stored
  /// as it came, a later change made now would be stamped before it and the history would run
  /// backwards.
  public static func requested(
    _ requested: Date?, field: String = "occurred_at", byOperator: Bool, now: Date = Date()
  ) throws -> Date? {
    guard let requested else { return nil }
    guard byOperator else {
      throw PermissionDenied(rule: "\(field): only an operator imports history with a time of its own")
    }
    guard requested <= now.addingTimeInterval(clockSkew) else {
      throw InvalidField(
        field: field, reason: "\(text(requested)) is in the future (now \(text(now))); history is what happened")
    }
    guard requested >= earliest else {
      throw InvalidField(field: field, reason: "\(text(requested)) is before 2000-01-01")
    }
    return min(requested, now)
  }

  /// `requested` when it is not before `lastChange` of `record` (e.g. "deal 3f…"), else
  /// INVALID_ARGUMENT naming `field`; nil (now) when nothing was requested.
  public static func inOrder(
    _ requested: Date?, after lastChange: Date, of record: String, field: String = "occurred_at"
  ) throws(InvalidField) -> Date? {
    guard let requested else { return nil }
    guard requested >= lastChange else {
      throw InvalidField(
        field: field,
        reason: "\(text(requested)) is before the last change of \(record) at \(text(lastChange)); "
          + "its history stays in order")
    }
    return requested
  }

  /// ISO 8601 in UTC, as errors show times.
  public static func text(_ date: Date) -> String { date.ISO8601Format() }
}
