import CRMContracts
import Foundation
import SwiftProtobuf

/// An activity's context as the `activities.context` column keeps it (jsonb):
/// `{"key": {"type": "number", "number": 3}, …}`; times as the timestamp's seconds and nanos.
struct StoredValue: Codable, Equatable {
  var type: String
  var text: String?
  var number: Double?
  var seconds: Int64?
  var nanos: Int32?

  init(_ value: ContextValue) {
    switch value {
    case .text(let text): self.init(type: "text", text: text)
    case .number(let number): self.init(type: "number", number: number)
    case .time(let time): self.init(type: "time", seconds: time.seconds, nanos: time.nanos)
    case .choice(let choice): self.init(type: "choice", text: choice)
    }
  }

  private init(type: String, text: String? = nil, number: Double? = nil, seconds: Int64? = nil, nanos: Int32? = nil) {
    self.type = type
    self.text = text
    self.number = number
    self.seconds = seconds
    self.nanos = nanos
  }

  var message: Crm_Activity_V1_AttributeValue {
    .with {
      switch type {
      case "number": $0.number = number ?? 0
      case "time":
        $0.time = .with { time in
          time.seconds = seconds ?? 0
          time.nanos = nanos ?? 0
        }
      case "choice": $0.choice = text ?? ""
      default: $0.text = text ?? ""
      }
    }
  }

  /// The column's JSON text of a checked context (keys in order).
  static func json(_ context: [String: ContextValue]) throws -> String {
    // Most activities carry none: the encoder's "{}" without making one.
    guard !context.isEmpty else { return "{}" }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(context.mapValues(StoredValue.init)), as: UTF8.self)
  }

  /// The context of the column's JSON text.
  static func context(_ json: String) throws -> [String: Crm_Activity_V1_AttributeValue] {
    guard json != "{}" else { return [:] }
    return try JSONDecoder().decode([String: StoredValue].self, from: Data(json.utf8)).mapValues(\.message)
  }
}
