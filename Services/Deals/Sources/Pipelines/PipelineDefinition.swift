import CRMContracts
import CRMDomain
import CRMEvents
import Foundation

/// One stage as a pipeline defines it; its position is its place in `PipelineDefinition.stages`.
struct StageDefinition: Equatable, Sendable {
  var id: UUID
  var name: String
  /// The exit criterion: what must be true to leave the stage.
  var result: String
  var defaultProbability: Int32
  var retired: Bool
  /// Set when the request named an existing stage.
  var existing: Bool
}

/// A checked `DefinePipelineRequest`: what a pipeline is to become.
struct PipelineDefinition: Sendable {
  static let nameLength = 200
  static let resultLength = 2_000
  static let stageLimit = 50
  static let lossReasonLimit = 50

  var businessLine: String
  var name: String
  var stages: [StageDefinition]
  var lossReasons: [String]

  /// The request's content, checked on its own: names, results, probabilities, loss reasons.
  static func validate(_ request: Crm_Deals_V1_DefinePipelineRequest) throws(InvalidField) -> PipelineDefinition {
    try request.requireKnownFields("request")
    let isNew = request.pipelineID.isEmpty
    let businessLine = try Text.field(request.businessLine, "business_line", limit: nameLength, required: true)
    let name = try Text.field(request.name, "name", limit: nameLength, required: true)
    guard !request.stages.isEmpty else { throw InvalidField(field: "stages", reason: "a pipeline needs stages") }
    guard request.stages.count <= stageLimit else {
      throw InvalidField(field: "stages", reason: "has \(request.stages.count) stages; at most \(stageLimit)")
    }
    var stages: [StageDefinition] = []
    var names: [String: Int] = [:]
    for (index, stage) in request.stages.enumerated() {
      let field = "stages[\(index)]"
      try stage.requireKnownFields(field)
      let stageName = try Text.field(stage.name, "\(field).name", limit: nameLength, required: true)
      if let other = names[stageName.lowercased()] {
        throw InvalidField(field: "\(field).name", reason: "\"\(stageName)\" is also the name of stages[\(other)]")
      }
      names[stageName.lowercased()] = index
      let result = try Text.field(stage.result, "\(field).result", limit: resultLength, required: true, multiline: true)
      guard (0...100).contains(stage.defaultProbability) else {
        throw InvalidField(
          field: "\(field).default_probability", reason: "is \(stage.defaultProbability); expected 0 to 100")
      }
      var id = UUID()
      if !stage.id.isEmpty {
        guard !isNew else {
          throw InvalidField(field: "\(field).id", reason: "a new pipeline's stages get their ids here; leave it empty")
        }
        guard let given = UUID(uuidString: stage.id) else {
          throw InvalidField(field: "\(field).id", reason: "\(Text.quoted(stage.id)) is not a stage id")
        }
        id = given
      }
      if isNew && stage.retired {
        throw InvalidField(field: "\(field).retired", reason: "a new pipeline's stage cannot be retired")
      }
      stages.append(
        StageDefinition(
          id: id, name: stageName, result: result, defaultProbability: stage.defaultProbability,
          retired: stage.retired, existing: !stage.id.isEmpty))
    }
    let active = stages.enumerated().filter { !$0.element.retired }
    guard !active.isEmpty else { throw InvalidField(field: "stages", reason: "every stage is retired; keep one") }
    for (previous, next) in zip(active, active.dropFirst())
    where next.element.defaultProbability < previous.element.defaultProbability {
      throw InvalidField(
        field: "stages[\(next.offset)].default_probability",
        reason:
          "is \(next.element.defaultProbability), below \(previous.element.defaultProbability) of the stage before it; "
          + "win probability may not decrease along the pipeline")
    }
    guard request.lossReasons.count <= lossReasonLimit else {
      throw InvalidField(
        field: "loss_reasons", reason: "has \(request.lossReasons.count) reasons; at most \(lossReasonLimit)")
    }
    var reasons: [String] = []
    for (index, reason) in request.lossReasons.enumerated() {
      let text = try Text.field(reason, "loss_reasons[\(index)]", limit: nameLength, required: true)
      guard !reasons.contains(where: { $0.lowercased() == text.lowercased() }) else {
        throw InvalidField(field: "loss_reasons[\(index)]", reason: "\"\(text)\" is listed twice")
      }
      reasons.append(text)
    }
    return PipelineDefinition(businessLine: businessLine, name: name, stages: stages, lossReasons: reasons)
  }

  /// Checks a revision against the pipeline's current stages (in order): no stage of another
  /// pipeline, none dropped (open deals may stand on it: retire it instead), and the existing
  /// stages keep their order, so that "forward" keeps its meaning for every open deal.
  func checkRevision(of current: [StageDefinition]) throws(InvalidField) {
    let currentIDs = Set(current.map(\.id))
    for (index, stage) in stages.enumerated() where stage.existing && !currentIDs.contains(stage.id) {
      throw InvalidField(
        field: "stages[\(index)].id", reason: "\(stage.id.uuidString.lowercased()) is not a stage of this pipeline")
    }
    let kept = stages.filter(\.existing).map(\.id)
    if let dropped = current.first(where: { !kept.contains($0.id) }) {
      throw InvalidField(
        field: "stages",
        reason:
          "stage \"\(dropped.name)\" (\(dropped.id.uuidString.lowercased())) is missing; "
          + "stages are retired (retired = true), not removed")
    }
    let currentOrder = current.map(\.id)
    if kept != currentOrder, let moved = zip(kept, currentOrder).first(where: { $0 != $1 }) {
      let name = stages.first { $0.id == moved.0 }?.name ?? ""
      throw InvalidField(
        field: "stages",
        reason: "stage \"\(name)\" changes its place among the existing stages; they keep their order "
          + "(deals only move forward), new stages may go anywhere")
    }
  }
}
