import CRMContracts
import CRMDomain

/// One criterion of a rubric: scored 0 to `scaleMax`, counting `weight` in the weighted score.
struct RubricCriterion: Sendable, Equatable {
  var key: String
  var label: String
  var weight: Int
  var scaleMax: Int
}

/// A checked `DefineRubricRequest`: what the next version of the rubric is to be.
struct RubricDefinition: Sendable, Equatable {
  static let nameLength = 200
  static let keyLength = 64
  static let labelLength = 200
  static let criterionLimit = 30
  static let weights = 1...100
  /// Ordinal scales: 0–2 (no, partly, yes) or 0–5.
  static let scales: Set<Int> = [2, 5]

  var name: String
  var criteria: [RubricCriterion]

  static func validate(_ request: Crm_Qualitycontrol_V1_DefineRubricRequest) throws(InvalidField) -> RubricDefinition {
    try request.requireKnownFields("request")
    let name = try Text.field(request.name, "name", limit: nameLength, required: true)
    guard !request.criteria.isEmpty else { throw InvalidField(field: "criteria", reason: "a rubric needs criteria") }
    guard request.criteria.count <= criterionLimit else {
      throw InvalidField(field: "criteria", reason: "has \(request.criteria.count); at most \(criterionLimit)")
    }
    guard request.expectedVersion >= 0 else {
      throw InvalidField(
        field: "expected_version", reason: "is \(request.expectedVersion); expected 0 (none yet) or more")
    }
    var criteria: [RubricCriterion] = []
    var seen: [String: Int] = [:]
    for (index, criterion) in request.criteria.enumerated() {
      let field = "criteria[\(index)]"
      try criterion.requireKnownFields(field)
      guard isKey(criterion.key, limit: keyLength) else {
        throw InvalidField(
          field: "\(field).key", reason: "\(Text.quoted(criterion.key)) is not 1 to \(keyLength) of a-z, 0-9 and _")
      }
      if let other = seen[criterion.key] {
        throw InvalidField(field: "\(field).key", reason: "\(criterion.key) is also the key of criteria[\(other)]")
      }
      seen[criterion.key] = index
      let label = try Text.field(criterion.label, "\(field).label", limit: labelLength, required: true)
      guard weights.contains(Int(criterion.weight)) else {
        throw InvalidField(field: "\(field).weight", reason: "is \(criterion.weight); expected 1 to 100")
      }
      guard scales.contains(Int(criterion.scaleMax)) else {
        throw InvalidField(field: "\(field).scale_max", reason: "is \(criterion.scaleMax); expected 2 (0–2) or 5 (0–5)")
      }
      criteria.append(
        RubricCriterion(
          key: criterion.key, label: label, weight: Int(criterion.weight), scaleMax: Int(criterion.scaleMax)))
    }
    return RubricDefinition(name: name, criteria: criteria)
  }

  /// 1 to `limit` of a-z, 0-9 and _, starting with a letter.
  static func isKey(_ key: String, limit: Int) -> Bool {
    guard (1...limit).contains(key.utf8.count), let first = key.utf8.first,
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
    else { return false }
    return key.utf8.allSatisfy {
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        || $0 == UInt8(ascii: "_")
    }
  }
}
