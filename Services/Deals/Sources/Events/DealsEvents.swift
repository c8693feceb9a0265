import CRMContracts
import CRMEvents
import Foundation
import SwiftProtobuf

/// The deals service's events (DESIGN §2): one topic, keyed by the deal or pipeline id.
enum DealsEvents {
  static let topic = EventTopics.deals

  /// `occurredAt`: when the change happened (now, or an imported history's time).
  static func event(
    aggregateID: String, version: Int64, actor: String, occurredAt: Date = Date(), _ payload: some Message
  ) throws -> OutboxEvent {
    try OutboxEvent(
      topic: topic, aggregateID: aggregateID, aggregateVersion: version, actor: actor, payload: payload,
      occurredAt: occurredAt)
  }
}
