import CRMContracts
import CRMDomain
import CRMEvents
import Foundation
import Logging
import PostgresNIO
import SwiftProtobuf

/// What the activity service takes from the deals service's events: which deals exist, with
/// which contact, whose they are, and whether they are still open.
struct DealsEventsHandler: Sendable {
  static let dealsTopic = EventTopics.deals

  /// The longest owner id taken (the deals service's limit on it).
  static let ownerLength = 200

  let logger: Logger

  /// The inbox consumer of the deals events (group and dead letters `activity-deals`).
  var subscription: InboxSubscription {
    InboxSubscription(name: "activity-deals", topics: [Self.dealsTopic]) { event, connection in
      try await apply(event, on: connection)
    }
  }

  /// Applies one event: every deal event carries the deal as it now is. Types without a deal
  /// (pipelines) are recorded only.
  func apply(_ event: ReceivedEvent, on connection: PostgresConnection) async throws {
    let envelope = event.envelope
    let payload = envelope.payload
    do {
      let deal: Crm_Deals_V1_Deal? =
        switch envelope.type {
        case Crm_Deals_V1_DealOpened.protoMessageName: try Crm_Deals_V1_DealOpened(serializedBytes: payload).deal
        case Crm_Deals_V1_DealMoved.protoMessageName: try Crm_Deals_V1_DealMoved(serializedBytes: payload).deal
        case Crm_Deals_V1_ObjectionRaised.protoMessageName:
          try Crm_Deals_V1_ObjectionRaised(serializedBytes: payload).deal
        case Crm_Deals_V1_ProbabilityEstimated.protoMessageName:
          try Crm_Deals_V1_ProbabilityEstimated(serializedBytes: payload).deal
        case Crm_Deals_V1_DealAmountChanged.protoMessageName:
          try Crm_Deals_V1_DealAmountChanged(serializedBytes: payload).deal
        case Crm_Deals_V1_DealWon.protoMessageName: try Crm_Deals_V1_DealWon(serializedBytes: payload).deal
        case Crm_Deals_V1_DealLost.protoMessageName: try Crm_Deals_V1_DealLost(serializedBytes: payload).deal
        default: nil
        }
      if let deal { try await remember(deal, on: connection) }
    } catch let error as SwiftProtobuf.BinaryDecodingError {
      throw EventRejected("\(envelope.type): the payload does not decode (\(error))")
    } catch let error as InvalidField {
      throw EventRejected("\(envelope.type): \(error)")
    }
  }

  /// The deal as of its version: an older event delivered late changes nothing. A version
  /// below 1 or an owner id that is not a text is refused (dead-lettered): a forged version
  /// `Int64.max` would freeze the deal, every later event being older.
  private func remember(_ deal: Crm_Deals_V1_Deal, on connection: PostgresConnection) async throws {
    let id = try ActivityInput.id(deal.id, "deal.id")
    let contactID = try ActivityInput.id(deal.contactID, "deal.contact_id")
    guard deal.version >= 1 else {
      throw InvalidField(field: "deal.version", reason: "is \(deal.version); a deal's versions start at 1")
    }
    let owner = try Text.field(deal.ownerID, "deal.owner_id", limit: Self.ownerLength, required: true)
    let status =
      switch deal.status {
      case .won: "won"
      case .lost: "lost"
      default: "open"
      }
    // When it was opened and closed, for end-of-day reports as of a past day.
    let openedAt = deal.hasOpenedAt ? try deal.openedAt.checkedDate("deal.opened_at") : nil
    let closedAt = status != "open" && deal.hasClosedAt ? try deal.closedAt.checkedDate("deal.closed_at") : nil
    let stage = try Text.field(deal.stageID, "deal.stage_id", limit: Self.ownerLength, required: false)
    _ = try await connection.query(
      """
      INSERT INTO known_deals (id, contact_id, owner_id, status, version, opened_at, closed_at, stage_id)
      VALUES (\(id), \(contactID), \(owner), \(status), \(deal.version), \(openedAt), \(closedAt), \(stage))
      ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version,
        opened_at = COALESCE(known_deals.opened_at, excluded.opened_at), closed_at = excluded.closed_at,
        stage_id = excluded.stage_id
      WHERE known_deals.version < excluded.version
      """,
      logger: logger
    ).collect()
  }
}
