import CRMContracts
import CRMEvents
import Foundation

/// An event as `events` keeps it: the envelope and where the record came from. The live inbox
/// and the rebuild hand the projector the same thing.
struct StoredEvent: Sendable {
  var eventID: String
  var topic: String
  var partition: Int32
  var offset: Int64
  var type: String
  var aggregateID: String
  var aggregateVersion: Int64
  var actor: String
  var occurredAt: Date?
  var payload: Data

  init(_ event: ReceivedEvent) {
    let envelope = event.envelope
    eventID = envelope.eventID
    topic = event.topic
    partition = event.partition
    offset = event.offset
    type = envelope.type
    aggregateID = envelope.aggregateID
    aggregateVersion = envelope.aggregateVersion
    actor = envelope.actor
    // A time no record may carry is kept as none (the payload stays): the projections that need
    // it then refuse the event, naming `envelope.occurred_at`.
    occurredAt = envelope.hasOccurredAt ? try? envelope.occurredAt.checkedDate("envelope.occurred_at") : nil
    payload = envelope.payload
  }

  init(
    eventID: String, topic: String, partition: Int32, offset: Int64, type: String, aggregateID: String,
    aggregateVersion: Int64, actor: String, occurredAt: Date?, payload: Data
  ) {
    self.eventID = eventID
    self.topic = topic
    self.partition = partition
    self.offset = offset
    self.type = type
    self.aggregateID = aggregateID
    self.aggregateVersion = aggregateVersion
    self.actor = actor
    self.occurredAt = occurredAt
    self.payload = payload
  }

  /// The change it makes (nil: a type not projected). A bad payload is `InvalidField`.
  func change() throws -> ProjectedChange? {
    try ProjectedChange.decode(type: type, payload: payload, occurredAt: occurredAt)
  }
}
