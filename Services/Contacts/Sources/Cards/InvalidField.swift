import Foundation
import GRPCCore
import SwiftProtobuf

/// Bad input, naming the field and why: answered as INVALID_ARGUMENT, nothing written.
struct InvalidField: Error, CustomStringConvertible {
  var field: String
  var reason: String
  var description: String { "\(field): \(reason)" }

  var rpcError: RPCError { RPCError(code: .invalidArgument, message: description) }
}

/// Limits of what a card may hold.
enum CardLimits {
  static let nameLength = 200
  static let textLength = 2_000
  static let notesLength = 20_000
  static let listLength = 50
  static let pageSizeDefault = 50
  static let pageSizeCap = 100
}

extension Message {
  /// Fields this service's contract does not know (a newer or a wrong client): refused, not
  /// silently dropped.
  func requireKnownFields(_ name: String) throws(InvalidField) {
    guard unknownFields.data.isEmpty else {
      throw InvalidField(field: name, reason: "has fields this service does not know")
    }
  }
}

enum Text {
  /// Trimmed `value`, at most `limit` characters; `required` refuses an empty one.
  static func field(_ value: String, _ name: String, limit: Int, required: Bool = false) throws(InvalidField) -> String
  {
    let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
    if required && trimmed.isEmpty { throw InvalidField(field: name, reason: "is empty") }
    guard trimmed.count <= limit else {
      throw InvalidField(field: name, reason: "has \(trimmed.count) characters; at most \(limit)")
    }
    return trimmed
  }
}
