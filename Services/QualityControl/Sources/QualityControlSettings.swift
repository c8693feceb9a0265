import CRMRuntime

/// Quality-control's own settings: how long a lease lasts, and the share of items reviewed
/// twice. The same on every replica (the double-review choice depends on it).
public struct QualityControlSettings: Sendable, Equatable {
  /// `CRM_QC_LEASE_SECONDS`: an item not submitted within this returns to the queue.
  public var leaseSeconds: Int
  /// `CRM_QC_DOUBLE_REVIEW_SHARE`: 0 … 1 of the items get a second, blind review.
  public var doubleReviewShare: Double

  public init(leaseSeconds: Int = 900, doubleReviewShare: Double = 0.2) {
    self.leaseSeconds = leaseSeconds
    self.doubleReviewShare = doubleReviewShare
  }

  /// From the environment; the error names the variable.
  public init(_ environment: EnvironmentReader) throws(ConfigurationError) {
    self.init(
      leaseSeconds: try environment.integer("CRM_QC_LEASE_SECONDS", default: 900, in: 1...86_400),
      doubleReviewShare: try environment.decimal("CRM_QC_DOUBLE_REVIEW_SHARE", default: 0.2, in: 0...1))
  }
}
