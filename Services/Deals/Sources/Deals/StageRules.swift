import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation

/// A stage as it stands in a pipeline, in order.
struct PipelineStage: Equatable, Sendable {
  var id: UUID
  var name: String
  var position: Int32
  var defaultProbability: Int32
  var retired: Bool
}

/// The sales standard's stage rule: a deal moves only forward and may skip stages.
enum StageRules {
  /// The stages skipped by moving from `current` to `target` of `stages` (ordered by position),
  /// or the rule the move breaks. Retired stages are not skipped: nobody can stand on them.
  static func skippedStages(from current: UUID, to target: UUID, in stages: [PipelineStage]) throws
    -> [PipelineStage]
  {
    guard let from = stages.first(where: { $0.id == current }) else {
      throw NotFound(entity: "stage", id: current.uuidString.lowercased())
    }
    guard let to = stages.first(where: { $0.id == target }) else {
      throw InvalidField(
        field: "to_stage_id", reason: "\(target.uuidString.lowercased()) is not a stage of the deal's pipeline")
    }
    let refusal: String? =
      if to.id == from.id {
        "the deal is already there; deals move only forward"
      } else if to.position < from.position {
        "it is behind the current stage; deals move only forward"
      } else if to.retired {
        "it is retired"
      } else {
        nil
      }
    if let refusal {
      throw RuleBroken(
        description:
          "deal is at stage \"\(from.name)\" (\(from.id.uuidString.lowercased())); cannot move to "
          + "\"\(to.name)\" (\(to.id.uuidString.lowercased())): \(refusal)")
    }
    return stages.filter { $0.position > from.position && $0.position < to.position && !$0.retired }
  }

  /// Where a new deal starts: the pipeline's first stage still in use.
  static func firstStage(of stages: [PipelineStage]) -> PipelineStage? {
    stages.first { !$0.retired }
  }
}
