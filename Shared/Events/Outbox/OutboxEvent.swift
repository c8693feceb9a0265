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
    try checkSize()
  }
}

extension OutboxEvent {
  /// The most bytes one event's record may take. librdkafka refuses records over 1,000,000
  /// bytes (`message.max.bytes`) and brokers about as many (Kafka's default is 1,048,588); the
  /// margin leaves room for the record batch's own framing and for a broker set a bit lower.
  public static let recordCap = 900_000

  /// The record's size as the relay publishes it: key, envelope, and the event id and type
  /// headers (with their names).
  public var recordBytes: Int {
    key.utf8.count + envelope.count + "crm-event-id".utf8.count + eventID.utf8.count
      + "crm-event-type".utf8.count + type.utf8.count
  }

  /// Throws `EventTooLarge` when the record would be over `cap`.
  public func checkSize(cap: Int = OutboxEvent.recordCap) throws(EventTooLarge) {
    let bytes = recordBytes
    guard bytes <= cap else { throw EventTooLarge(type: type, aggregateID: key, bytes: bytes, cap: cap) }
  }
}
