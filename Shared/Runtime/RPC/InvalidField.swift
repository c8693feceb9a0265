import Foundation
import GRPCCore
import SwiftProtobuf

/// Bad input, naming the field and why: answered as INVALID_ARGUMENT, nothing written.
public struct InvalidField: Error, Sendable, CustomStringConvertible {
  public var field: String
  public var reason: String
  public var description: String { "\(field): \(reason)" }

  public init(field: String, reason: String) {
    self.field = field
    self.reason = reason
  }
}

/// A rule of the sales process the request would break: FAILED_PRECONDITION.
public struct RuleBroken: Error, Sendable, CustomStringConvertible {
  public var description: String

  public init(description: String) { self.description = description }
}

extension Message {
  /// Fields this service's contract does not know (a newer or a wrong client): refused, not
  /// silently dropped.
  public func requireKnownFields(_ name: String) throws(InvalidField) {
    guard unknownFields.data.isEmpty else {
      throw InvalidField(field: name, reason: "has fields this service does not know")
    }
  }
}

public enum Text {
  /// Trimmed `value`, at most `limit` characters; `required` refuses an empty one.
  public static func field(_ value: String, _ name: String, limit: Int, required: Bool = false) throws(InvalidField)
    -> String
  {
    let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
    if required && trimmed.isEmpty { throw InvalidField(field: name, reason: "is empty") }
    guard trimmed.count <= limit else {
      throw InvalidField(field: name, reason: "has \(trimmed.count) characters; at most \(limit)")
    }
    return trimmed
  }
}
