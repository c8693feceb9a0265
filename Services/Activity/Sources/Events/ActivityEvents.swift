import CRMContracts
import CRMEvents
import SwiftProtobuf

/// The activity service's events (DESIGN §2): one topic, keyed by the activity, task,
/// attribute or manager they are about.
enum ActivityEvents {
  static let topic = EventTopics.activity

  static func event(aggregateID: String, version: Int64, actor: String, _ payload: some Message) throws -> OutboxEvent {
    try OutboxEvent(topic: topic, aggregateID: aggregateID, aggregateVersion: version, actor: actor, payload: payload)
  }
}
