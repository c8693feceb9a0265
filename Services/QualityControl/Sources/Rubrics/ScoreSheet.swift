import CRMContracts
import CRMDomain

/// A reviewer's scores checked against the rubric version of the item: every criterion once,
/// none that the rubric lacks, each within its scale. A failure names the field.
enum ScoreSheet {
  /// The scores in the rubric's order of criteria.
  static func check(_ scores: [Crm_Qualitycontrol_V1_Score], against criteria: [RubricCriterion], version: Int64)
    throws(InvalidField) -> [(criterion: RubricCriterion, value: Int)]
  {
    guard scores.count <= criteria.count + 10 else {
      throw InvalidField(field: "scores", reason: "has \(scores.count); the rubric has \(criteria.count) criteria")
    }
    let byKey = Dictionary(uniqueKeysWithValues: criteria.map { ($0.key, $0) })
    var values: [String: Int] = [:]
    for (index, score) in scores.enumerated() {
      let field = "scores[\(index)]"
      try score.requireKnownFields(field)
      guard let criterion = byKey[score.criterion] else {
        throw InvalidField(
          field: "\(field).criterion",
          reason: "\(Text.quoted(score.criterion)) is not a criterion of rubric version \(version) ("
            + criteria.map(\.key).joined(separator: ", ") + ")")
      }
      guard values[score.criterion] == nil else {
        throw InvalidField(field: "\(field).criterion", reason: "\(score.criterion) is scored twice")
      }
      guard (0...criterion.scaleMax).contains(Int(score.value)) else {
        throw InvalidField(
          field: "\(field).value", reason: "is \(score.value); \(score.criterion) is scored 0 to \(criterion.scaleMax)")
      }
      values[score.criterion] = Int(score.value)
    }
    let missing = criteria.filter { values[$0.key] == nil }.map(\.key)
    guard missing.isEmpty else {
      throw InvalidField(field: "scores", reason: "has no score for " + missing.joined(separator: ", "))
    }
    return criteria.map { ($0, values[$0.key]!) }
  }

  /// 0 to 100: Σ weight × value / scale_max over Σ weight.
  static func weighted(_ scored: [(criterion: RubricCriterion, value: Int)]) -> Double {
    let total = scored.reduce(0) { $0 + $1.criterion.weight }
    guard total > 0 else { return 0 }
    let sum = scored.reduce(0.0) { $0 + Double($1.criterion.weight) * Double($1.value) / Double($1.criterion.scaleMax) }
    return (sum / Double(total) * 100 * 100).rounded() / 100
  }
}
