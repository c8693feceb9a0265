import CRMDomain
import Foundation

/// A JSON value as sent, with booleans, numbers and strings kept apart (a `true` is not a 1).
enum JSONValue: Decodable, Sendable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    // Strings first, the common case: each kind that does not fit is a thrown error, and the
    // decoder never reads one kind as another (a `true` is no number, a 1 no string).
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  var kind: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }
}

/// The fields of a webhook's JSON object; every refusal names the field. Unknown fields are
/// refused (a misspelt optional field would otherwise be silently lost).
struct WebhookFields {
  let object: [String: JSONValue]

  init(_ body: [UInt8], known: Set<String>) throws(InvalidField) {
    let value: JSONValue
    do {
      value = try JSONDecoder().decode(JSONValue.self, from: Data(body))
    } catch {
      throw InvalidField(field: "body", reason: "is not JSON")
    }
    guard case .object(let object) = value else {
      throw InvalidField(field: "body", reason: "is \(value.kind); expected a JSON object")
    }
    if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
      throw InvalidField(
        field: String(Text.quoted(unknown).dropFirst().dropLast()),
        reason: "is not a field of this webhook (known: \(known.sorted().joined(separator: ", ")))")
    }
    self.object = object
  }

  /// A string field, checked as every text from the wire is (`Text.field`); absent or null is "".
  func text(_ name: String, limit: Int, required: Bool = false) throws(InvalidField) -> String {
    switch object[name] {
    case nil, .null?:
      if required { throw InvalidField(field: name, reason: "is missing") }
      return ""
    case .string(let value)?:
      return try Text.field(value, name, limit: limit, required: required)
    case let other?:
      throw InvalidField(field: name, reason: "is \(other.kind); expected a string")
    }
  }

  /// One of a fixed set of words.
  func choice(_ name: String, from choices: [String]) throws(InvalidField) -> String {
    let value = try text(name, limit: 32, required: true)
    guard choices.contains(value) else {
      throw InvalidField(
        field: name, reason: "is \(Text.quoted(value)); expected one of \(choices.joined(separator: ", "))")
    }
    return value
  }

  /// A whole number in `range`; nil when absent.
  func integer(_ name: String, in range: ClosedRange<Int>) throws(InvalidField) -> Int? {
    switch object[name] {
    case nil, .null?:
      return nil
    case .number(let value)?:
      guard value.rounded() == value, Double(range.lowerBound) <= value, value <= Double(range.upperBound) else {
        throw InvalidField(
          field: name, reason: "is \(value); expected a whole number in \(range.lowerBound)…\(range.upperBound)")
      }
      return Int(value)
    case let other?:
      throw InvalidField(field: name, reason: "is \(other.kind); expected a number")
    }
  }

  /// A list of strings (at most `count`), each checked as a text.
  func texts(_ name: String, limit: Int, count: Int) throws(InvalidField) -> [String] {
    switch object[name] {
    case nil, .null?:
      throw InvalidField(field: name, reason: "is missing")
    case .string?:
      return [try text(name, limit: limit, required: true)]
    case .array(let values)?:
      guard !values.isEmpty, values.count <= count else {
        throw InvalidField(field: name, reason: "has \(values.count) entries; expected 1…\(count)")
      }
      var texts: [String] = []
      for (index, value) in values.enumerated() {
        guard case .string(let text) = value else {
          throw InvalidField(field: "\(name)[\(index)]", reason: "is \(value.kind); expected a string")
        }
        texts.append(try Text.field(text, "\(name)[\(index)]", limit: limit, required: true))
      }
      return texts
    case let other?:
      throw InvalidField(field: name, reason: "is \(other.kind); expected a string or an array of strings")
    }
  }

  /// An RFC 3339 instant (`2026-12-01T10:15:00Z`, fractions and offsets allowed).
  func instant(_ name: String) throws(InvalidField) -> Date {
    let value = try text(name, limit: 64, required: true)
    guard let date = WebhookTimes.date(value) else {
      throw InvalidField(
        field: name, reason: "is \(Text.quoted(value)); expected an RFC 3339 time, e.g. 2026-12-01T10:15:00Z")
    }
    return date
  }
}
