import CRMIdentity

/// Who may call which quality-control method. Behind the wall: reviewers call the reviewer
/// methods only, the QC head defines rubrics and reads the reports, reporting (a service
/// principal) reads; nobody else but operators calls quality-control at all.
enum QualityControlAccess {
  static let service = "crm.qualitycontrol.v1.QualityControl/"
  static let reviewerWork = "only QC reviewers take and review items"
  static let reports = "coverage, agreement and scores are read by the QC head and the reporting service"

  static let policy = AccessPolicy(
    Dictionary(
      uniqueKeysWithValues: [
        (service + "DefineRubric", AccessPolicy.Rule([.qcHead], "only the QC head defines rubrics")),
        (
          service + "GetRubric",
          AccessPolicy.Rule([.qcHead, .qcReviewer, .service], "rubrics are read by QC and reporting")
        ),
        (
          service + "GetReviewerStats",
          AccessPolicy.Rule([.qcHead, .qcReviewer], "a reviewer reads his own counts, the QC head anyone's")
        ),
      ]
        + ["NextItem", "SubmitReview"].map { (service + $0, AccessPolicy.Rule([.qcReviewer], reviewerWork)) }
        + ["GetCoverage", "GetAgreement", "GetRepScores"].map {
          (service + $0, AccessPolicy.Rule([.qcHead, .service], reports))
        }))
}
