import CRMContracts
import CRMEvents
import SwiftProtobuf

/// Quality-control's events (DESIGN §2): codes only, on its own topic, keyed by the item (a
/// review) or by "rubric" (a rubric version).
enum QualityControlEvents {
  static let topic = EventTopics.qualityControl

  static func event(aggregateID: String, version: Int64, actor: String, _ payload: some Message) throws -> OutboxEvent {
    try OutboxEvent(topic: topic, aggregateID: aggregateID, aggregateVersion: version, actor: actor, payload: payload)
  }
}
