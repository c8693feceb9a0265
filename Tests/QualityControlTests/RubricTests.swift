import CRMContracts
import CRMDomain
import Testing

@testable import QualityControlService

/// Rubric definitions and score sheets, in process.
@Suite("Rubrics and scores")
struct RubricTests {
  typealias Request = Crm_Qualitycontrol_V1_DefineRubricRequest

  func refusal(_ change: (inout Request) -> Void) -> String? {
    var request = QualityControlHarness.rubricRequest()
    change(&request)
    do {
      _ = try RubricDefinition.validate(request)
      return nil
    } catch {
      return error.field
    }
  }

  @Test func definitionsAreChecked() throws {
    #expect(try RubricDefinition.validate(QualityControlHarness.rubricRequest()).criteria.count == 4)
    #expect(refusal { $0.name = " " } == "name")
    #expect(refusal { $0.criteria = [] } == "criteria")
    #expect(refusal { $0.criteria[1].key = "Needs" } == "criteria[1].key")
    #expect(refusal { $0.criteria[2].key = "greeting" } == "criteria[2].key")
    #expect(refusal { $0.criteria[0].label = "" } == "criteria[0].label")
    #expect(refusal { $0.criteria[3].weight = 0 } == "criteria[3].weight")
    #expect(refusal { $0.criteria[3].weight = 101 } == "criteria[3].weight")
    #expect(refusal { $0.criteria[1].scaleMax = 3 } == "criteria[1].scale_max")
    #expect(refusal { $0.expectedVersion = -1 } == "expected_version")
  }

  var criteria: [RubricCriterion] {
    try! RubricDefinition.validate(QualityControlHarness.rubricRequest()).criteria
  }

  func score(_ pairs: [(String, Int32)]) -> [Crm_Qualitycontrol_V1_Score] {
    pairs.map { key, value in
      .with {
        $0.criterion = key
        $0.value = value
      }
    }
  }

  func sheetRefusal(_ pairs: [(String, Int32)]) -> String? {
    do {
      _ = try ScoreSheet.check(score(pairs), against: criteria, version: 1)
      return nil
    } catch {
      return error.field
    }
  }

  @Test func aSheetScoresEveryCriterionOnceWithinItsScale() throws {
    let full: [(String, Int32)] = [("greeting", 2), ("needs", 5), ("objection", 0), ("next_step", 1)]
    #expect(sheetRefusal(full) == nil)
    #expect(sheetRefusal(full + [("smile", 1)]) == "scores[4].criterion")
    #expect(sheetRefusal(Array(full.dropLast())) == "scores")
    #expect(sheetRefusal([("greeting", 3)] + full.dropFirst()) == "scores[0].value")
    #expect(sheetRefusal([("greeting", -1)] + full.dropFirst()) == "scores[0].value")
    #expect(sheetRefusal(full + [("needs", 1)]) == "scores[4].criterion")
  }

  @Test func theWeightedScoreIsTheWeightedShareOfEachScale() throws {
    // (1 × 2/2 + 3 × 5/5 + 2 × 0/5 + 2 × 1/2) / 8 = 5/8 = 62.5 %.
    let sheet = try ScoreSheet.check(
      score([("next_step", 1), ("greeting", 2), ("needs", 5), ("objection", 0)]), against: criteria, version: 1)
    #expect(sheet.map(\.criterion.key) == ["greeting", "needs", "objection", "next_step"])
    #expect(ScoreSheet.weighted(sheet) == 62.5)
  }
}
