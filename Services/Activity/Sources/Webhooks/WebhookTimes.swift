import Foundation
import Synchronization

/// The webhooks' ISO 8601 formatters, made once: making one costs far more than using it (ICU
/// loads its patterns; two per request were a tenth of a webhook's time in the bench). A
/// formatter is not documented as safe to share between threads, so each is used under a lock.
enum WebhookTimes {
  private static let internet = Mutex(ISO8601DateFormatter())
  private static let fractional = Mutex(
    {
      let formatter = ISO8601DateFormatter()
      formatter.formatOptions.insert(.withFractionalSeconds)
      return formatter
    }())

  /// An RFC 3339 instant, with or without fractions of a second; nil when it is none.
  static func date(_ text: String) -> Date? {
    if let date = internet.withLock({ $0.date(from: text) }) { return date }
    return fractional.withLock { $0.date(from: text) }
  }

  /// `date` as stored in a communication's details (`2026-12-01T10:15:00Z`).
  static func text(_ date: Date) -> String {
    internet.withLock { $0.string(from: date) }
  }
}
