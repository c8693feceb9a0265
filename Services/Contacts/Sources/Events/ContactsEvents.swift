import CRMContracts
import CRMEvents
import SwiftProtobuf

/// The contacts service's events (DESIGN §2): one topic, keyed by the card or lead id.
enum ContactsEvents {
  static let topic = EventTopics.contacts

  static func event(aggregateID: String, version: Int64, actor: String, _ payload: some Message) throws -> OutboxEvent {
    try OutboxEvent(topic: topic, aggregateID: aggregateID, aggregateVersion: version, actor: actor, payload: payload)
  }
}
