import CRMContracts
import CRMDomain
import Foundation
import SwiftProtobuf

/// One attribute as the catalogue defines it.
struct AttributeDefinition: Equatable, Sendable {
  static let keyLength = 64
  static let labelLength = 200
  static let choiceLength = 100
  static let choiceLimit = 50

  var key: String
  var label: String
  var type: Crm_Activity_V1_AttributeType
  var choices: [String]
  var retired: Bool
  /// Its values may go into review items across the quality-control wall (issue 15).
  var qcSafe = false

  /// A checked `DefineAttributeRequest`: a key of `a-z 0-9 _` starting with a letter, a label,
  /// a type, and (for a choice, only then) its distinct values.
  static func validate(_ request: Crm_Activity_V1_DefineAttributeRequest) throws(InvalidField) -> AttributeDefinition {
    try request.requireKnownFields("request")
    let key = try Self.key(request.key, "key")
    let label = try Text.field(request.label, "label", limit: labelLength, required: true)
    guard AttributeDefinition.types.contains(request.type) else {
      throw InvalidField(
        field: "type",
        reason: "expected ATTRIBUTE_TYPE_TEXT, ATTRIBUTE_TYPE_NUMBER, ATTRIBUTE_TYPE_TIME or ATTRIBUTE_TYPE_CHOICE")
    }
    var choices: [String] = []
    if request.type == .choice {
      guard !request.choices.isEmpty else {
        throw InvalidField(field: "choices", reason: "a choice attribute lists the values it may take; none")
      }
      guard request.choices.count <= choiceLimit else {
        throw InvalidField(field: "choices", reason: "has \(request.choices.count) values; at most \(choiceLimit)")
      }
      for (index, choice) in request.choices.enumerated() {
        let value = try Text.field(choice, "choices[\(index)]", limit: choiceLength, required: true)
        guard !choices.contains(where: { $0.lowercased() == value.lowercased() }) else {
          throw InvalidField(field: "choices[\(index)]", reason: "\"\(value)\" is listed twice")
        }
        choices.append(value)
      }
    } else if !request.choices.isEmpty {
      throw InvalidField(field: "choices", reason: "only a choice attribute lists values")
    }
    return AttributeDefinition(
      key: key, label: label, type: request.type, choices: choices, retired: request.retired, qcSafe: request.qcSafe)
  }

  static let types: [Crm_Activity_V1_AttributeType] = [.text, .number, .time, .choice]

  /// An attribute key: 1 to 64 of `a-z 0-9 _`, starting with a letter.
  static func key(_ value: String, _ field: String) throws(InvalidField) -> String {
    let bytes = Array(value.utf8)
    guard (1...keyLength).contains(bytes.count), let first = bytes.first, (0x61...0x7A).contains(first),
      bytes.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") })
    else {
      throw InvalidField(
        field: field, reason: "\(Text.quoted(value)) is not 1 to \(keyLength) of a-z 0-9 _ starting with a letter")
    }
    return value
  }

  /// A revision keeps the type: values already recorded keep their meaning.
  func checkRevision(of current: AttributeDefinition) throws(RuleBroken) {
    guard current.type == type else {
      throw RuleBroken(
        description:
          "attribute \(key) is of type \(current.type.text); its type does not change (recorded values keep "
          + "their meaning): retire it and define another key")
    }
  }

  var message: Crm_Activity_V1_AttributeDefinition {
    .with {
      $0.key = key
      $0.label = label
      $0.type = type
      $0.choices = choices
      $0.retired = retired
      $0.qcSafe = qcSafe
    }
  }
}

/// A context value as checked against the catalogue and as stored.
enum ContextValue: Equatable, Sendable {
  case text(String)
  case number(Double)
  case time(Google_Protobuf_Timestamp)
  case choice(String)

  var message: Crm_Activity_V1_AttributeValue {
    .with {
      switch self {
      case .text(let text): $0.text = text
      case .number(let number): $0.number = number
      case .time(let time): $0.time = time
      case .choice(let choice): $0.choice = choice
      }
    }
  }
}

/// The attribute catalogue that a head of sales keeps: every context key an activity carries
/// must be one of its attributes, with a value of that attribute's type.
struct AttributeCatalogue: Sendable {
  static let contextLimit = 32
  static let textLength = 500
  /// Far above any count or measure, far below where a double stops holding integers exactly.
  static let numberLimit = 1e15

  var attributes: [String: AttributeDefinition]

  init(_ attributes: [AttributeDefinition]) {
    self.attributes = Dictionary(attributes.map { ($0.key, $0) }) { first, _ in first }
  }

  /// The attributes whose values may go along with a review item (issue 15).
  var safeKeys: Set<String> { Set(attributes.values.filter(\.qcSafe).map(\.key)) }

  /// The context of an activity checked key by key: an unknown or retired key, a value of
  /// another type or a choice the catalogue does not list is refused, naming the key.
  func check(_ context: [String: Crm_Activity_V1_AttributeValue]) throws(InvalidField) -> [String: ContextValue] {
    guard context.count <= Self.contextLimit else {
      throw InvalidField(field: "context", reason: "has \(context.count) attributes; at most \(Self.contextLimit)")
    }
    var checked: [String: ContextValue] = [:]
    // In key order: the same request always names the same first fault.
    for (key, value) in context.sorted(by: { $0.key < $1.key }) {
      let field = "context[\(Text.quoted(key))]"
      try value.requireKnownFields(field)
      guard let attribute = attributes[key] else {
        let known = attributes.values.filter { !$0.retired }.map(\.key).sorted()
        let listed = known.prefix(20).joined(separator: ", ") + (known.count > 20 ? ", …" : "")
        throw InvalidField(
          field: field,
          reason: "is not in the attribute catalogue (known: \(known.isEmpty ? "none" : listed)); "
            + "a head of sales adds attributes to it with DefineAttribute")
      }
      guard !attribute.retired else {
        throw InvalidField(field: field, reason: "is retired from the attribute catalogue; it takes no new values")
      }
      checked[key] = try Self.value(value, of: attribute, field)
    }
    return checked
  }

  private static func value(_ value: Crm_Activity_V1_AttributeValue, of attribute: AttributeDefinition, _ field: String)
    throws(InvalidField) -> ContextValue
  {
    let wrongType = InvalidField(
      field: field,
      reason: "is \(value.value?.caseName ?? "empty"); the attribute catalogue makes it \(attribute.type.text)")
    switch (attribute.type, value.value) {
    case (.text, .text(let text)):
      return .text(try Text.field(text, field, limit: textLength, required: true))
    case (.number, .number(let number)):
      guard number.isFinite, abs(number) <= numberLimit else {
        throw InvalidField(field: field, reason: "is \(number); expected a finite number within ±\(Int64(numberLimit))")
      }
      return .number(number)
    case (.time, .time(let time)):
      _ = try WireTime.instant(time, field)
      return .time(time)
    case (.choice, .choice(let choice)):
      let given = try Text.field(choice, field, limit: AttributeDefinition.choiceLength, required: true)
      guard let listed = attribute.choices.first(where: { $0.lowercased() == given.lowercased() }) else {
        throw InvalidField(
          field: field,
          reason: "\(Text.quoted(given)) is not one of the attribute catalogue's choices for \(attribute.key): "
            + attribute.choices.joined(separator: ", "))
      }
      return .choice(listed)
    default:
      throw wrongType
    }
  }
}

extension Crm_Activity_V1_AttributeValue.OneOf_Value {
  var caseName: String {
    switch self {
    case .text: "a text"
    case .number: "a number"
    case .time: "a time"
    case .choice: "a choice"
    }
  }
}

extension Crm_Activity_V1_AttributeType {
  var text: String {
    switch self {
    case .text: "text"
    case .number: "number"
    case .time: "time"
    case .choice: "choice"
    default: "unspecified"
    }
  }

  init(text: String) {
    switch text {
    case "text": self = .text
    case "number": self = .number
    case "time": self = .time
    case "choice": self = .choice
    default: self = .unspecified
    }
  }
}
