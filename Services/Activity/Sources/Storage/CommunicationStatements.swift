import CRMContracts
import CRMEvents
import Foundation
import PostgresNIO

/// The webhooks' hot path as prepared statements (parsed and planned once per connection): a
/// known contact's call or mail is these two round trips.

/// The contact a number or address belongs to: an active one first, then the one the directory
/// learnt first (two cards may share a number; the contacts service's claim goes to the oldest
/// active card the same way).
struct ContactOfAddress: PostgresPreparedStatement {
  static let sql = """
    SELECT a.contact_id FROM contact_addresses a JOIN known_contacts k ON k.id = a.contact_id
    WHERE a.address = $1 ORDER BY k.archived, a.seq LIMIT 1
    """
  typealias Row = UUID

  var address: String

  func makeBindings() throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 1)
    bindings.append(address)
    return bindings
  }

  func decodeRow(_ row: PostgresRow) throws -> UUID { try row.decode(UUID.self) }
}

/// A known contact's communication in one statement: the row (its key decides whether this is
/// the first delivery), and for a finished call or a mail its activity and `ActivityLogged`,
/// written only when the row was. Returns 1, or 0 for a repeat (nothing written).
struct StoreKnownCommunication: PostgresPreparedStatement {
  static let sql = """
    WITH stored AS (
      INSERT INTO communications (id, channel, provider_event_id, event, direction, counterpart, details, summary,
                                  logged, occurred_at, manager_id, contact_id, activity_id, reply)
      VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13, $14::jsonb)
      ON CONFLICT (channel, provider_event_id) DO NOTHING RETURNING id
    ), logged AS (
      INSERT INTO activities (id, kind, contact_id, author, author_id, text, context, occurred_at, recorded_at)
      SELECT $13, $15, $12, $16, $17, $8, '{}'::jsonb, $10, $18
      WHERE $13::uuid IS NOT NULL AND EXISTS (SELECT 1 FROM stored)
    ), appended AS (\(Outbox.preparedInsert(firstParameter: 19, whenRowsIn: "stored")))
    SELECT count(*)::int FROM stored
    """
  typealias Row = Int

  var id: UUID
  var communication: Communication
  var details: String
  var contact: UUID
  var reply: String
  /// The activity it becomes (a finished call, a mail), with its `ActivityLogged`.
  var activity: (id: UUID, record: Crm_Activity_V1_ActivityRecord, recordedAt: Date, event: OutboxEvent)?

  func makeBindings() throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 23)
    bindings.append(id)
    bindings.append(communication.channel.rawValue)
    bindings.append(communication.eventID)
    bindings.append(communication.event)
    bindings.append(communication.direction)
    bindings.append(communication.counterpart)
    bindings.append(details)
    bindings.append(communication.summary)
    bindings.append(communication.logged)
    bindings.append(communication.occurredAt)
    bindings.append(communication.managerID)
    bindings.append(contact)
    bindings.append(activity?.id)
    bindings.append(reply)
    bindings.append(activity?.record.kind.text)
    bindings.append(activity?.record.author)
    bindings.append(activity?.record.authorID)
    bindings.append(activity?.recordedAt)
    Outbox.bind(activity.map { [$0.event] } ?? [], into: &bindings)
    return bindings
  }

  func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
}
