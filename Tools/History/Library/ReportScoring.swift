import CRMContracts

/// How the generator's reviewers score a report: each rubric criterion is 2 when the report
/// says its phrase, else 0 — so each manager's scores follow his planted report quality.
public enum ReportScoring {
  public static let scaleMax: Int32 = 2

  /// The rubric the scores are for: one criterion per report element, equal weights.
  public static var criteria: [Crm_Qualitycontrol_V1_Criterion] {
    Catalogue.reportElements.map { element in
      .with {
        $0.key = element.criterion
        $0.label = element.label
        $0.weight = 1
        $0.scaleMax = scaleMax
      }
    }
  }

  public static func scores(of text: String) -> [Crm_Qualitycontrol_V1_Score] {
    Catalogue.reportElements.map { element in
      .with {
        $0.criterion = element.criterion
        $0.value = text.contains(element.phrase) ? scaleMax : 0
      }
    }
  }

  /// 0 to 100, as quality control weighs the scores (equal weights).
  public static func weightedScore(of text: String) -> Double {
    let values = scores(of: text).map { Double($0.value) / Double(scaleMax) }
    return values.reduce(0, +) / Double(values.count) * 100
  }
}
