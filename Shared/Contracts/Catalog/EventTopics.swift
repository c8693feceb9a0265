/// The event topics of the system (DESIGN §2): each owned by the one service that publishes
/// to it; consumers name another service's topic from here, never as a literal.
public enum EventTopics {
  public static let contacts = "crm.contacts.events"
  public static let deals = "crm.deals.events"
  public static let activity = "crm.activity.events"
  public static let qualityControl = "crm.qc.events"
  /// Review items for quality control: codes and redacted text only (DESIGN §6).
  public static let qcReviewItems = "crm.qc.review-items"

  /// Who publishes to each topic, and the event types (by protobuf package prefix) it may carry.
  /// In production the broker's ACLs let only that service write the topic; consumers also
  /// refuse a type the topic's owner does not own (a forged `DealWon` on the contacts topic).
  static let owners: [String: (service: String, typePrefixes: [String])] = [
    contacts: ("contacts", ["crm.contacts."]),
    deals: ("deals", ["crm.deals."]),
    activity: ("activity", ["crm.activity."]),
    qualityControl: ("quality-control", ["crm.qualitycontrol."]),
    qcReviewItems: ("activity", ["crm.qualitycontrol.v1.ReviewItem"]),
  ]

  /// The service that owns `topic` (its principal's subject), nil for a topic not of the system.
  public static func producer(of topic: String) -> String? { owners[topic]?.service }

  /// Why an event of `type` may not come on `topic`, nil when it may (or the topic is not one
  /// of the system's, e.g. a test's own).
  public static func refusal(ofType type: String, on topic: String) -> String? {
    guard let owner = owners[topic] else { return nil }
    guard owner.typePrefixes.contains(where: { type.hasPrefix($0) }) else {
      return "an event of type \(type.prefix(120)) does not belong on \(topic) (owned by the \(owner.service) service, "
        + "which publishes only \(owner.typePrefixes.joined(separator: ", "))*)"
    }
    return nil
  }
}
