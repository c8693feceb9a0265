import CRMEvents
import Foundation
import PostgresNIO

/// The webhooks' group commit (`GroupCommit`): a batch of known contacts' calls and mails in two
/// round trips, whatever its size.

/// The contacts of several numbers or addresses at once, each chosen as `ContactOfAddress`
/// chooses.
struct ContactsOfAddresses: PostgresPreparedStatement {
  static let sql = """
    SELECT DISTINCT ON (a.address) a.address, a.contact_id
    FROM contact_addresses a JOIN known_contacts k ON k.id = a.contact_id
    WHERE a.address = ANY($1) ORDER BY a.address, k.archived, a.seq
    """
  typealias Row = (String, UUID)

  var addresses: [String]

  func makeBindings() throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 1)
    bindings.append(addresses)
    return bindings
  }

  func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((String, UUID).self) }
}

/// `StoreKnownCommunication` for many rows in one statement (one commit): each row is stored
/// unless its provider event is (then nothing of it is written), with its activity and
/// `ActivityLogged` only when it was. Returns the ids of the rows stored.
struct StoreKnownCommunications: PostgresPreparedStatement {
  static let sql = """
    WITH given AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::bool[], $10::timestamptz[], $11::text[], $12::uuid[], $13::text[],
                           $14::text[], $15::text[], $16::text[], $17::text[], $18::timestamptz[])
        WITH ORDINALITY AS g(id, channel, provider_event_id, event, direction, counterpart, details, summary, logged,
                             occurred_at, manager_id, contact_id, activity_id, reply, kind, author, author_id,
                             recorded_at, position)
    ), stored AS (
      INSERT INTO communications (id, channel, provider_event_id, event, direction, counterpart, details, summary,
                                  logged, occurred_at, manager_id, contact_id, activity_id, reply)
      SELECT id, channel, provider_event_id, event, direction, counterpart, details::jsonb, summary, logged,
             occurred_at, manager_id, contact_id, NULLIF(activity_id, '')::uuid, reply::jsonb
      FROM given ORDER BY position
      ON CONFLICT (channel, provider_event_id) DO NOTHING RETURNING id
    ), logged AS (
      INSERT INTO activities (id, kind, contact_id, author, author_id, text, context, occurred_at, recorded_at)
      SELECT activity_id::uuid, kind, contact_id, author, author_id, summary, '{}'::jsonb, occurred_at, recorded_at
      FROM given WHERE activity_id <> '' AND id IN (SELECT id FROM stored) ORDER BY position
    ), appended AS (\(Outbox.preparedInsert(firstParameter: 19, whenOwnerIn: "stored", column: "id")))
    SELECT id FROM stored
    """
  typealias Row = UUID

  var rows: [StoreKnownCommunication]

  func makeBindings() throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 24)
    bindings.append(rows.map(\.id))
    bindings.append(rows.map(\.communication.channel.rawValue))
    bindings.append(rows.map(\.communication.eventID))
    bindings.append(rows.map(\.communication.event))
    bindings.append(rows.map(\.communication.direction))
    bindings.append(rows.map(\.communication.counterpart))
    bindings.append(rows.map(\.details))
    bindings.append(rows.map(\.communication.summary))
    bindings.append(rows.map(\.communication.logged))
    bindings.append(rows.map(\.communication.occurredAt))
    bindings.append(rows.map(\.communication.managerID))
    bindings.append(rows.map(\.contact))
    bindings.append(rows.map { $0.activity?.id.uuidString.lowercased() ?? "" })
    bindings.append(rows.map(\.reply))
    bindings.append(rows.map { $0.activity?.record.kind.text ?? "" })
    bindings.append(rows.map { $0.activity?.record.author ?? "" })
    bindings.append(rows.map { $0.activity?.record.authorID ?? "" })
    bindings.append(rows.map { $0.activity?.recordedAt ?? $0.communication.occurredAt })
    let logged = rows.compactMap { row in row.activity.map { (event: $0.event, owner: row.id) } }
    Outbox.bind(logged.map(\.event), owners: logged.map(\.owner), into: &bindings)
    return bindings
  }

  func decodeRow(_ row: PostgresRow) throws -> UUID { try row.decode(UUID.self) }
}
