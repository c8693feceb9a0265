import CRMRuntime
import Testing

@testable import QualityControlService

/// `CRM_QC_…`: defaults, and a refusal that names the variable.
@Suite("Quality-control settings")
struct SettingsTests {
  func settings(_ values: [String: String]) throws -> QualityControlSettings {
    try QualityControlSettings(EnvironmentReader(values))
  }

  @Test func defaultsAndValues() throws {
    #expect(try settings([:]) == QualityControlSettings(leaseSeconds: 900, doubleReviewShare: 0.2))
    #expect(
      try settings(["CRM_QC_LEASE_SECONDS": "60", "CRM_QC_DOUBLE_REVIEW_SHARE": "0.35"])
        == QualityControlSettings(leaseSeconds: 60, doubleReviewShare: 0.35))
  }

  @Test func badValuesNameTheVariable() {
    for (variable, value) in [
      ("CRM_QC_LEASE_SECONDS", "0"), ("CRM_QC_LEASE_SECONDS", "15m"), ("CRM_QC_DOUBLE_REVIEW_SHARE", "1.5"),
      ("CRM_QC_DOUBLE_REVIEW_SHARE", "nan"), ("CRM_QC_DOUBLE_REVIEW_SHARE", "20%"),
    ] {
      #expect(throws: ConfigurationError.self) { try settings([variable: value]) }
      do {
        _ = try settings([variable: value])
      } catch {
        #expect("\(error)".contains(variable))
      }
    }
  }
}
