import Foundation

/// Typed access to `CRM_…` variables; every failure names the variable and the expected form.
public struct EnvironmentReader: Sendable {
  public var values: [String: String]

  public init(_ values: [String: String]) {
    self.values = values
  }

  /// A required variable: absent or blank is an error.
  public func required(_ name: String, expected: String) throws(ConfigurationError) -> String {
    guard let value = optional(name) else {
      throw ConfigurationError(variable: name, problem: "is not set", expected: expected)
    }
    return value
  }

  /// A variable that may be absent; blank counts as absent.
  public func optional(_ name: String) -> String? {
    guard let value = values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
    return value
  }

  public func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(ConfigurationError)
    -> Int
  {
    guard let text = optional(name) else { return fallback }
    let expected = "an integer in \(range.lowerBound)…\(range.upperBound)"
    guard let value = Int(text) else {
      throw ConfigurationError(variable: name, problem: "is \"\(text)\"", expected: expected)
    }
    guard range.contains(value) else {
      throw ConfigurationError(variable: name, problem: "is \(value), out of range", expected: expected)
    }
    return value
  }

  /// A decimal number in `range`, e.g. a share 0…1.
  public func decimal(_ name: String, default fallback: Double, in range: ClosedRange<Double>)
    throws(ConfigurationError) -> Double
  {
    guard let text = optional(name) else { return fallback }
    let expected = "a number in \(range.lowerBound)…\(range.upperBound)"
    guard let value = Double(text), value.isFinite else {
      throw ConfigurationError(variable: name, problem: "is \"\(text)\"", expected: expected)
    }
    guard range.contains(value) else {
      throw ConfigurationError(variable: name, problem: "is \(value), out of range", expected: expected)
    }
    return value
  }

  /// One of a fixed set of words, e.g. a log level.
  public func choice<Value>(
    _ name: String,
    default fallback: Value,
    from choices: KeyValuePairs<String, Value>
  ) throws(ConfigurationError) -> Value {
    guard let text = optional(name) else { return fallback }
    guard let match = choices.first(where: { $0.key == text.lowercased() }) else {
      throw ConfigurationError(
        variable: name,
        problem: "is \"\(text)\"",
        expected: "one of " + choices.map(\.key).joined(separator: ", ")
      )
    }
    return match.value
  }
}
