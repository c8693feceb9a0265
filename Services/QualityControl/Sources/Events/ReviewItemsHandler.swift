import CRMContracts
import CRMDomain
import CRMEvents
import Foundation
import PostgresNIO
import SwiftProtobuf

/// The one thing quality-control consumes (DESIGN §2): review items from `crm.qc.review-items`.
/// An item is checked as hostile input (codes, redacted text, safe attributes); one that fails
/// is dead-lettered (`crm.dlq.quality-control-review-items`), one seen before changes nothing.
/// The envelope's actor is not kept: only the item's codes cross into the database.
struct ReviewItemsHandler: Sendable {
  static let topic = EventTopics.qcReviewItems

  let repository: PostgresQualityControlRepository

  var subscription: InboxSubscription {
    InboxSubscription(name: "quality-control-review-items", topics: [Self.topic]) { event, connection in
      try await apply(event, on: connection)
    }
  }

  func apply(_ event: ReceivedEvent, on connection: PostgresConnection) async throws {
    let envelope = event.envelope
    guard envelope.type == Crm_Qualitycontrol_V1_ReviewItem.protoMessageName else {
      throw EventRejected("\(envelope.type.prefix(120)): \(Self.topic) carries review items only")
    }
    let item: IncomingItem
    do {
      item = try ReviewItemInput.check(try Crm_Qualitycontrol_V1_ReviewItem(serializedBytes: envelope.payload))
    } catch let error as SwiftProtobuf.BinaryDecodingError {
      throw EventRejected("\(envelope.type): the payload does not decode (\(error))")
    } catch let error as InvalidField {
      throw EventRejected("\(envelope.type): \(error)")
    }
    guard envelope.aggregateID == item.id else {
      throw EventRejected("\(envelope.type): the envelope's aggregate_id is not the item's item_id")
    }
    try await repository.receive(item, on: connection)
  }
}
