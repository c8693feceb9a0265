import CRMContracts
import CRMDomain
import Foundation
import SwiftProtobuf

/// Instants from the wire: range-checked before anything computes with them.
enum WireTime {
  /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range a `Timestamp` may hold.
  static let earliestSeconds: Int64 = -62_135_596_800
  static let latestSeconds: Int64 = 253_402_300_799

  /// `timestamp` as a date, or INVALID_ARGUMENT naming `field` when it is outside the range a
  /// timestamp may hold or its nanoseconds are not 0 to 999,999,999.
  static func instant(_ timestamp: Google_Protobuf_Timestamp, _ field: String) throws(InvalidField) -> Date {
    try timestamp.requireKnownFields(field)
    guard (earliestSeconds...latestSeconds).contains(timestamp.seconds) else {
      throw InvalidField(field: "\(field).seconds", reason: "is \(timestamp.seconds); outside years 1 to 9999")
    }
    guard (0..<1_000_000_000).contains(timestamp.nanos) else {
      throw InvalidField(field: "\(field).nanos", reason: "is \(timestamp.nanos); expected 0 to 999999999")
    }
    return timestamp.date
  }
}

extension Date {
  var timestamp: Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: self) }
}

extension UUID {
  /// Wire text of ids: lower case.
  var text: String { uuidString.lowercased() }
}
