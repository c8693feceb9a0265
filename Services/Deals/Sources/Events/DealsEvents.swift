import CRMContracts
import CRMEvents
import SwiftProtobuf

/// The deals service's events (DESIGN §2): one topic, keyed by the deal or pipeline id.
enum DealsEvents {
  static let topic = EventTopics.deals

  static func event(aggregateID: String, version: Int64, actor: String, _ payload: some Message) throws -> OutboxEvent {
    try OutboxEvent(topic: topic, aggregateID: aggregateID, aggregateVersion: version, actor: actor, payload: payload)
  }
}
