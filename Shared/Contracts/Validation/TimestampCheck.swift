import CRMDomain
import Foundation
import SwiftProtobuf

extension Google_Protobuf_Timestamp {
  /// The first and the last instant a record may carry: PostgreSQL stores any of them, and no
  /// arithmetic on them overflows (postgres-nio turns a `Date` into Int64 microseconds with a
  /// trapping conversion: a forged `seconds` of 10^15 would stop the process, again at every
  /// redelivery).
  public static let plausible: ClosedRange<Int64> = -62_135_596_800...253_402_300_799  // years 1...9999

  /// The time as a `Date`, or why it is not one a record may carry.
  public func checkedDate(_ field: String) throws(InvalidField) -> Date {
    guard Self.plausible.contains(seconds), (0..<1_000_000_000).contains(nanos) else {
      throw InvalidField(field: field, reason: "is not a time between the years 1 and 9999 (\(seconds) s, \(nanos) ns)")
    }
    return date
  }
}
