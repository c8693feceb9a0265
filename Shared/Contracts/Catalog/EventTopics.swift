/// The event topics of the system (DESIGN §2): each owned by the one service that publishes
/// to it; consumers name another service's topic from here, never as a literal.
public enum EventTopics {
  public static let contacts = "crm.contacts.events"
  public static let deals = "crm.deals.events"
  public static let activity = "crm.activity.events"
  public static let qualityControl = "crm.qc.events"
  /// Review items for quality control: codes and redacted text only (DESIGN §6).
  public static let qcReviewItems = "crm.qc.review-items"
}
