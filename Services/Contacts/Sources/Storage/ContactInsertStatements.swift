import CRMContracts
import CRMEvents
import Foundation
import PostgresNIO

/// A new contact card written at once: the card, its identity claims, search keys, company
/// links, history and `ContactCreated`. Prepared (planning the statement cost about as much as
/// running it), with the reply stored under the request's idempotency key, in two variants: an unforced card fails on a claimed phone or e-mail (the
/// claims' key), a forced one claims only what is free and records the duplicate it overrode.
struct ContactInsert {
  var id: UUID
  var card: Crm_Contacts_V1_Contact
  var cardBytes: ByteBuffer
  var createdAt: Date
  var identities: [String]
  var searchKeys: [String]
  var companyIDs: [UUID]
  var actor: String
  var changes: [CardChange]
  var event: OutboxEvent
  /// The request's idempotency key, and the reply stored under it.
  var requestKey: String?
  var reply: [UInt8]

  static func sql(forced: Bool) -> String {
    """
    WITH duplicate AS (
      SELECT c.id, cl.value LIKE 'phone:%' AS by_phone
      FROM contact_claims cl JOIN contacts c ON c.id = cl.contact_id
      WHERE \(forced) AND cl.value = ANY($10)
      ORDER BY c.created_at LIMIT 1
    ), inserted AS (
      INSERT INTO contacts (id, name, name_search, phone_numbers, email_addresses, birthday, owner_id, card, created_at)
      VALUES ($1, $2, $3, $4, $5, NULLIF($6::text, '')::date, $7, $8, $9)
      RETURNING id
    ), claimed AS (
      INSERT INTO contact_claims (value, contact_id)
      SELECT DISTINCT k, inserted.id FROM inserted, unnest($10::text[]) AS k
      \(forced ? "ON CONFLICT DO NOTHING" : "")
    ), keys AS (
      INSERT INTO contact_identities (value, contact_id)
      SELECT DISTINCT k, inserted.id FROM inserted, unnest($11::text[]) AS k
    ), links AS (
      INSERT INTO contact_companies (contact_id, company_id, role)
      SELECT inserted.id, m.c, m.r FROM inserted, unnest($12::uuid[], $13::text[]) AS m(c, r)
    ), history AS (
      INSERT INTO card_history (card_id, actor, changed_at, field, old_value, new_value)
      SELECT inserted.id, $14, $9, h.f, h.o, h.n FROM inserted, (
        SELECT f, o, n, i FROM unnest($15::text[], $16::text[], $17::text[]) WITH ORDINALITY AS c(f, o, n, i)
        UNION ALL
        SELECT 'duplicate_forced', '',
               'same ' || CASE WHEN d.by_phone THEN 'phone' ELSE 'e-mail' END || ' as contact ' || d.id::text
                 || '; created with force',
               1000000
        FROM duplicate d
      ) h
      ORDER BY h.i
    ), appended AS (\(Outbox.preparedInsert(firstParameter: 18, whenRowsIn: "inserted"))
    ), replied AS (
      INSERT INTO request_replies (key, reply, request_digest)
      SELECT $23, $24, $25 FROM inserted WHERE $23::text IS NOT NULL
    )
    SELECT count(*)::int FROM inserted
    """
  }

  func bindings() -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 25)
    bindings.append(id)
    bindings.append(card.name)
    bindings.append(SearchQuery.searchable(card.name))
    bindings.append(card.phones.map(\.number))
    bindings.append(card.emails.map(\.address))
    // Always text ('' for none): a prepared statement keeps the parameter types of its first
    // execution on a connection, and an untyped NULL there made $6 a date, which a later
    // birthday sent as text then broke (22P03, seen: a card without a birthday, then one with).
    bindings.append(card.hasBirthday ? Birthday.text(card.birthday) : "")
    bindings.append(card.ownerID)
    bindings.append(cardBytes)
    bindings.append(createdAt)
    bindings.append(identities)
    bindings.append(searchKeys)
    bindings.append(companyIDs)
    bindings.append(card.companies.map(\.role))
    bindings.append(actor)
    bindings.append(changes.map(\.field))
    bindings.append(changes.map(\.old))
    bindings.append(changes.map(\.new))
    Outbox.bind([event], into: &bindings)
    bindings.append(requestKey)
    bindings.append(ByteBuffer(bytes: reply))
    bindings.append(RequestReplies.currentRequestDigest)
    return bindings
  }
}

/// `ContactInsert` of a card that may not repeat a claimed phone or e-mail.
struct InsertContact: PostgresPreparedStatement {
  static let sql = ContactInsert.sql(forced: false)
  typealias Row = Int

  var insert: ContactInsert

  func makeBindings() throws -> PostgresBindings { insert.bindings() }
  func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
}

/// `ContactInsert` of a card created with `force`.
struct InsertForcedContact: PostgresPreparedStatement {
  static let sql = ContactInsert.sql(forced: true)
  typealias Row = Int

  var insert: ContactInsert

  func makeBindings() throws -> PostgresBindings { insert.bindings() }
  func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
}
