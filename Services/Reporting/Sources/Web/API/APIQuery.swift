import CRMDomain
import Foundation

/// The query parameters each operation takes, checked before the generated code decodes them,
/// so that a refusal names the parameter (the generated decoding says only which type failed):
/// unknown, repeated, empty, undecodable, too long, out of range or not of its form → 400.
enum APIQuery {
  enum Rule: Sendable {
    /// An id or a name: 1 to `limit` characters.
    case text(limit: Int)
    /// A manager id: 1 to 64 of a-z 0-9 . _ -.
    case subject
    case currency
    case cursor
    case integer(ClosedRange<Int>)
    case instant
    case choice([String])
  }

  struct Operation: Sendable {
    var rules: [String: Rule]
    var required: Set<String> = []
  }

  static let period: [String: Rule] = ["from": .instant, "to": .instant]

  /// By operation id (the document's `operationId`).
  static let operations: [String: Operation] = [
    "getFunnel": Operation(
      rules: period.merging([
        "pipeline": .text(limit: 200), "kind": .choice(["consultative", "active"]), "source": .text(limit: 200),
        "owner": .subject,
      ]) { $1 }, required: ["pipeline"]),
    "getLeadFunnel": Operation(
      rules: period.merging(["businessLine": .text(limit: 200), "source": .text(limit: 200), "owner": .subject]) {
        $1
      }),
    "getLosses": Operation(rules: period.merging(["pipeline": .text(limit: 200), "owner": .subject]) { $1 }),
    "getStalledDeals": Operation(
      rules: [
        "days": .integer(1...3_650), "asOf": .instant, "pipeline": .text(limit: 200), "stage": .text(limit: 200),
        "owner": .subject, "pageSize": .integer(1...100), "cursor": .cursor,
      ], required: ["days"]),
    "getForecast": Operation(rules: ["pipeline": .text(limit: 200), "currency": .currency]),
    "getForecastBacktest": Operation(
      rules: ["months": .integer(1...36), "pipeline": .text(limit: 200), "currency": .currency, "asOf": .instant],
      required: ["months"]),
    "getDiscipline": Operation(rules: period.merging(["owner": .subject]) { $1 }),
    "getCardCompleteness": Operation(rules: ["owner": .subject]),
    "getQualityScores": Operation(
      rules: period.merging(["owner": .subject, "bucket": .choice(["week", "month"])]) { $1 }),
    "getLeaderboard": Operation(rules: period.merging(["currency": .currency]) { $1 }),
    "createToken": Operation(rules: [:]),
    "revokeToken": Operation(rules: [:]),
  ]

  /// Checks the query of `target` (path and query) for `operationID`.
  static func check(_ target: String, operationID: String) throws(APIError) {
    guard let operation = operations[operationID] else { return }
    var seen: Set<String> = []
    let query = target.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
    for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
      let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard let name = decode(parts[0]) else {
        throw .parameter("query", "a parameter name is not valid percent-encoded UTF-8")
      }
      guard let rule = operation.rules[name] else {
        let known = operation.rules.keys.sorted().joined(separator: ", ")
        throw .parameter(name, "is not a parameter of this report" + (known.isEmpty ? "" : " (\(known))"))
      }
      guard seen.insert(name).inserted else { throw .parameter(name, "is given more than once") }
      guard let value = decode(parts.count == 2 ? parts[1] : "") else {
        throw .parameter(name, "is not valid percent-encoded UTF-8")
      }
      try check(value, rule, name)
    }
    if let missing = operation.required.subtracting(seen).sorted().first {
      throw .parameter(missing, "is required")
    }
  }

  static func check(_ value: String, _ rule: Rule, _ name: String) throws(APIError) {
    guard !value.isEmpty else { throw .parameter(name, "is empty; leave it out for no filter") }
    switch rule {
    case .text(let limit):
      do {
        _ = try Text.field(value, name, limit: limit, required: true)
      } catch {
        throw .parameter(name, error.reason)
      }
    case .subject:
      guard value.utf8.count <= 64, value.utf8.allSatisfy(subjectByte) else {
        throw .parameter(name, "is \(Text.quoted(value)); expected 1 to 64 of a-z 0-9 . _ -")
      }
    case .currency:
      guard value.utf8.count == 3, value.utf8.allSatisfy({ (0x41...0x5A).contains($0) }) else {
        throw .parameter(name, "is \(Text.quoted(value)); expected three capital letters (ISO 4217)")
      }
    case .cursor:
      guard value.utf8.count <= 64, value.utf8.allSatisfy(cursorByte) else {
        throw .parameter(name, "is not a cursor this report gave")
      }
    case .integer(let range):
      guard value.utf8.count <= 10, let number = Int(value), range.contains(number) else {
        throw .parameter(
          name, "is \(Text.quoted(value)); expected a whole number from \(range.lowerBound) to \(range.upperBound)")
      }
    case .instant:
      guard RFC3339.date(value) != nil else {
        throw .parameter(name, "is \(Text.quoted(value)); expected an RFC 3339 date-time, e.g. 2026-01-31T00:00:00Z")
      }
    case .choice(let values):
      guard values.contains(value) else {
        throw .parameter(name, "is \(Text.quoted(value)); expected one of \(values.joined(separator: ", "))")
      }
    }
  }

  /// `+` is a space; percent escapes must make valid UTF-8.
  static func decode(_ raw: Substring) -> String? {
    String(raw).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
  }

  /// URL-safe base64, as page tokens are sealed.
  static func cursorByte(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
      || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
  }

  static func subjectByte(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) || byte == UInt8(ascii: ".")
      || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
  }
}
