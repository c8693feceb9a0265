import CRMContracts
import Foundation
import SwiftProtobuf

/// An event to publish: written in the business transaction, published later by the relay.
public struct OutboxEvent: Sendable, Equatable {
  public var eventID: String
  public var topic: String
  /// The aggregate's id: the record key, so one aggregate's events stay in order.
  public var key: String
  /// The payload's full protobuf name, e.g. "crm.contacts.v1.LeadConverted".
  public var type: String
  /// The serialized `crm.events.v1.EventEnvelope`.
  public var envelope: [UInt8]

  public init(eventID: String, topic: String, key: String, type: String, envelope: [UInt8]) {
    self.eventID = eventID
    self.topic = topic
    self.key = key
    self.type = type
    self.envelope = envelope
  }

  /// Wraps `payload` in an envelope (DESIGN §5) with a new event id.
  public init(
    topic: String,
    aggregateID: String,
    aggregateVersion: Int64,
    actor: String,
    payload: some Message,
    occurredAt: Date = Date()
  ) throws {
    var envelope = Crm_Events_V1_EventEnvelope()
    envelope.eventID = UUID().uuidString.lowercased()
    envelope.type = Swift.type(of: payload).protoMessageName
    envelope.occurredAt = Google_Protobuf_Timestamp(date: occurredAt)
    envelope.aggregateID = aggregateID
    envelope.aggregateVersion = aggregateVersion
    envelope.actor = actor
    envelope.payload = try payload.serializedData()
    self.init(
      eventID: envelope.eventID,
      topic: topic,
      key: aggregateID,
      type: envelope.type,
      envelope: Array(try envelope.serializedData())
    )
  }
}
