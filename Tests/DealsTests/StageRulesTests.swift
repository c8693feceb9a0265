import CRMContracts
import CRMDatabase
import CRMDomain
import CRMRuntime
import Foundation
import Testing

@testable import DealsService

/// The forward-only rule and pipeline definitions, as pure logic.
@Suite("Stage rules")
struct StageRulesTests {
  /// A, B, C (retired), D, E.
  static let stages: [PipelineStage] = ["A", "B", "C", "D", "E"].enumerated().map { index, name in
    PipelineStage(
      id: UUID(uuidString: "00000000-0000-0000-0000-00000000000\(index + 1)")!, name: name,
      position: Int32(index + 1), defaultProbability: Int32(index * 20), retired: name == "C")
  }
  static func stage(_ name: String) -> UUID { stages.first { $0.name == name }!.id }

  /// from, to, the skipped stages or "refused".
  @Test(arguments: [
    ("A", "B", "skips none"),
    ("A", "D", "skips B"),  // the retired C is not skipped: nobody stands on it
    ("A", "E", "skips B D"),
    ("B", "E", "skips D"),
    ("C", "D", "skips none"),  // a deal left on a retired stage still moves forward
    ("D", "E", "skips none"),
    ("B", "A", "refused"),
    ("E", "A", "refused"),
    ("B", "B", "refused"),
    ("A", "C", "refused"),  // retired: closed to new deals
  ])
  func forwardOnlyWithSkips(from: String, to: String, expected: String) throws {
    do {
      let skipped = try StageRules.skippedStages(from: Self.stage(from), to: Self.stage(to), in: Self.stages)
      let names = skipped.map(\.name).joined(separator: " ")
      #expect("skips \(names.isEmpty ? "none" : names)" == expected)
    } catch let broken as RuleBroken {
      #expect(expected == "refused", "\(broken)")
      // The refusal names both stages.
      #expect(broken.description.contains("\"\(from)\"") && broken.description.contains("\"\(to)\""))
    }
  }

  @Test func aStageOfAnotherPipelineIsInvalid() {
    #expect(throws: InvalidField.self) {
      try StageRules.skippedStages(from: Self.stage("A"), to: UUID(), in: Self.stages)
    }
  }

  @Test func firstStageSkipsRetiredOnes() {
    var stages = Self.stages
    stages[0].retired = true
    #expect(StageRules.firstStage(of: stages)?.name == "B")
  }

  static func definition(_ stages: [(String, Int32, Bool, String)]) -> Crm_Deals_V1_DefinePipelineRequest {
    .with {
      $0.pipelineID = UUID().uuidString
      $0.businessLine = "line"
      $0.name = "pipeline"
      $0.stages = stages.map { name, probability, retired, id in
        .with {
          $0.id = id
          $0.name = name
          $0.result = "\(name) done"
          $0.defaultProbability = probability
          $0.retired = retired
        }
      }
    }
  }

  static let definitionCases: [([(String, Int32, Bool)], String)] = [
    ([("A", 10, false), ("B", 5, false)], "stages[1].default_probability"),
    ([("A", 10, false), ("a", 20, false)], "stages[1].name"),
    ([("A", 10, false), ("B", 101, false)], "stages[1].default_probability"),
    ([("A", 10, true)], "stages"),
    ([("A", 50, false), ("B", 5, true), ("C", 60, false)], "ok"),  // a retired stage's default does not count
  ]

  @Test(arguments: definitionCases)
  func pipelineDefinitionChecks(stages: [(String, Int32, Bool)], field: String) {
    do {
      _ = try PipelineDefinition.validate(Self.definition(stages.map { ($0.0, $0.1, $0.2, "") }))
      #expect(field == "ok")
    } catch {
      #expect(error.field == field, "\(error)")
    }
  }

  @Test func aRevisionKeepsEveryStageAndTheirOrder() throws {
    let a = UUID()
    let b = UUID()
    let current = [a, b].enumerated().map { index, id in
      StageDefinition(
        id: id, name: "S\(index)", result: "r", defaultProbability: 10, retired: false, existing: true)
    }
    // Renamed, a new stage between, B retired: fine.
    try PipelineDefinition.validate(
      Self.definition([("A2", 10, false, a.uuidString), ("New", 15, false, ""), ("B", 20, true, b.uuidString)])
    ).checkRevision(of: current)
    // B dropped.
    #expect(throws: InvalidField.self) {
      try PipelineDefinition.validate(Self.definition([("A", 10, false, a.uuidString)])).checkRevision(of: current)
    }
    // B before A.
    #expect(throws: InvalidField.self) {
      try PipelineDefinition.validate(
        Self.definition([("B", 10, false, b.uuidString), ("A", 20, false, a.uuidString)])
      ).checkRevision(of: current)
    }
    // A stage of another pipeline.
    #expect(throws: InvalidField.self) {
      try PipelineDefinition.validate(
        Self.definition([
          ("A", 10, false, a.uuidString), ("B", 20, false, b.uuidString), ("X", 30, false, UUID().uuidString),
        ])
      ).checkRevision(of: current)
    }
  }

  @Test(arguments: [
    (-1, "RUB", "amount.minor_units"),
    (100, "RUR", "amount.currency"),
    (100, "", "amount.currency"),
    (100, "usd", "ok"),
  ])
  func money(minorUnits: Int64, currency: String, field: String) {
    do {
      let money = try DealInput.money(
        .with {
          $0.minorUnits = minorUnits
          $0.currency = currency
        }, "amount")
      #expect(field == "ok" && money.currency == currency.uppercased())
    } catch {
      #expect(error.field == field, "\(error)")
    }
  }

  @Test func closeDateIsARealDateNotInThePast() throws {
    let today = ISO8601DateFormatter().date(from: "2026-11-24T10:00:00Z")!
    func date(_ y: Int32, _ m: Int32, _ d: Int32) -> Crm_Common_V1_Date {
      .with {
        $0.year = y
        $0.month = m
        $0.day = d
      }
    }
    #expect(try DealInput.closeDate(date(2026, 11, 24), today: today) == "2026-11-24")
    #expect(throws: InvalidField.self) { try DealInput.closeDate(date(2026, 11, 23), today: today) }
    #expect(throws: InvalidField.self) { try DealInput.closeDate(date(2027, 2, 29), today: today) }
  }
}
