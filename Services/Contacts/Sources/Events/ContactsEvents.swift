import CRMContracts
import CRMEvents
import Foundation
import SwiftProtobuf

/// The contacts service's events (DESIGN §2): one topic, keyed by the card or lead id.
enum ContactsEvents {
  static let topic = EventTopics.contacts

  /// `occurredAt`: when the change happened (now, or an imported history's time).
  static func event(
    aggregateID: String, version: Int64, actor: String, occurredAt: Date = Date(), _ payload: some Message
  ) throws -> OutboxEvent {
    try OutboxEvent(
      topic: topic, aggregateID: aggregateID, aggregateVersion: version, actor: actor, payload: payload,
      occurredAt: occurredAt)
  }
}
