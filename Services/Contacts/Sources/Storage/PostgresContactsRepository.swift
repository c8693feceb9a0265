import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import Logging
import PostgresNIO
import SwiftProtobuf

/// `ContactsRepository` on the service's PostgreSQL database.
struct PostgresContactsRepository: ContactsRepository {
  let client: PostgresClient
  let logger: Logger

  func bytes(_ message: some Message) throws -> ByteBuffer {
    ByteBuffer(bytes: try message.serializedBytes() as [UInt8])
  }

  /// Writes one of this service's events to the outbox, in the caller's transaction.
  func publish(
    _ payload: some Message, aggregateID: String, version: Int64, actor: String, occurredAt: Date = Date(),
    on connection: PostgresConnection
  )
    async throws
  {
    try await Outbox.append(
      [
        try ContactsEvents.event(
          aggregateID: aggregateID, version: version, actor: actor, occurredAt: occurredAt, payload)
      ],
      on: connection,
      logger: logger
    )
  }

  func timestamp(_ date: Date) -> Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: date) }

  /// Records `changes` of card `cardID` in its history, made `at` (an imported history's time;
  /// nil: now).
  func recordHistory(
    _ changes: [CardChange], cardID: UUID, actor: String, at: Date? = nil, on connection: PostgresConnection
  ) async throws {
    guard !changes.isEmpty else { return }
    _ = try await connection.query(
      """
      INSERT INTO card_history (card_id, actor, changed_at, field, old_value, new_value)
      SELECT \(cardID), \(actor), coalesce(\(at), now()), f, o, n
      FROM unnest(\(changes.map(\.field)), \(changes.map(\.old)), \(changes.map(\.new))) WITH ORDINALITY AS c(f, o, n, i)
      ORDER BY i
      """,
      logger: logger
    ).collect()
  }

  func history(cardID: String, after cursor: Int64?, limit: Int) async throws -> (
    [Crm_Contacts_V1_CardChange], next: Int64?
  ) {
    let id = try UUID(cardID, of: "card")
    let exists = try await client.query(
      "SELECT 1 FROM contacts WHERE id = \(id) UNION ALL SELECT 1 FROM companies WHERE id = \(id) UNION ALL SELECT 1 FROM leads WHERE id = \(id)",
      logger: logger
    ).collect()
    guard !exists.isEmpty else { throw NotFound(entity: "card", id: cardID) }
    let rows = try await client.query(
      """
      SELECT seq, actor, changed_at, field, old_value, new_value FROM card_history
      WHERE card_id = \(id) AND seq > \(cursor ?? 0) ORDER BY seq LIMIT \(limit + 1)
      """,
      logger: logger
    )
    var changes: [Crm_Contacts_V1_CardChange] = []
    var last: Int64 = 0
    for try await (seq, actor, changedAt, field, old, new) in rows.decode(
      (Int64, String, Date, String, String, String).self)
    {
      guard changes.count < limit else { return (changes, last) }
      var change = Crm_Contacts_V1_CardChange()
      change.cardID = cardID.lowercased()
      change.actor = actor
      change.changedAt = timestamp(changedAt)
      change.field = field
      change.oldValue = old
      change.newValue = new
      changes.append(change)
      last = seq
    }
    return (changes, nil)
  }
}
