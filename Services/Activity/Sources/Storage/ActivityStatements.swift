import CRMContracts
import CRMEvents
import Foundation
import PostgresNIO

/// The hot paths of logging an activity as prepared statements (as the deals service's moves):
/// PostgreSQL parses and plans each once per connection, and each is one round trip. LogActivity
/// is a read and a write, each committing on its own: under READ COMMITTED a transaction around
/// them guarded nothing more (no row was locked), and cost a round trip per statement.

/// What logging an activity reads before it writes: its contact and owner (the deal's, when a
/// deal is named), and, when the report becomes a review item (`$3`), the directory's names
/// version, the contact's company and the names of both. No row: no such deal or contact.
struct ActivitySubjectRead: PostgresPreparedStatement {
  static let sql = """
    WITH subject AS (
      SELECT contact_id, owner_id FROM known_deals WHERE $1::uuid IS NOT NULL AND id = $1
      UNION ALL
      SELECT id, owner_id FROM known_contacts WHERE $1::uuid IS NULL AND id = $2
    )
    SELECT s.contact_id, s.owner_id, v.version, c.company_id, n.kinds, n.names
    FROM subject s
    LEFT JOIN known_names_version v ON $3
    LEFT JOIN known_contact_companies c ON $3 AND c.contact_id = s.contact_id
    LEFT JOIN LATERAL (
      SELECT array_agg(kind) AS kinds, array_agg(name) AS names FROM known_names
      WHERE id = s.contact_id OR id = c.company_id
    ) n ON $3
    """

  struct Row {
    var contact: UUID
    var owner: String
    /// With a review item only.
    var namesVersion: Int64?
    var company: UUID?
    /// The names of the contact and its company, with the kind of each (`contact`, `company`).
    var names: [(kind: String, name: String)]
  }

  var deal: UUID?
  var contact: UUID?
  var forReview: Bool

  func makeBindings() throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 3)
    bindings.append(deal)
    bindings.append(contact)
    bindings.append(forReview)
    return bindings
  }

  func decodeRow(_ row: PostgresRow) throws -> Row {
    let (contact, owner, version, company, kinds, names) = try row.decode(
      (UUID, String, Int64?, UUID?, [String]?, [String]?).self)
    return Row(
      contact: contact, owner: owner, namesVersion: version, company: company,
      names: Array(zip(kinds ?? [], names ?? [])).map { (kind: $0.0, name: $0.1) })
  }
}

/// A logged activity written at once: the row, `ActivityLogged`, the review item's claim and
/// event (when there is one; written only if the claim is new), and the reply under the
/// request's idempotency key. Returns how many review items were claimed (0 or 1).
struct LogActivityWrite: PostgresPreparedStatement {
  static let sql = """
    WITH logged AS (
      INSERT INTO activities (id, kind, contact_id, deal_id, author, author_id, text, context, occurred_at,
                              recorded_at)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)
      RETURNING id
    ), appended AS (\(Outbox.preparedInsert(firstParameter: 11, whenRowsIn: "logged"))
    ), claimed AS (
      INSERT INTO review_items (activity_id, item_id, withheld)
      SELECT id, $16, $17 FROM logged WHERE $16::text IS NOT NULL
      ON CONFLICT DO NOTHING RETURNING 1
    ), reviewed AS (\(Outbox.preparedInsert(firstParameter: 18, whenRowsIn: "claimed"))
    ), replied AS (
      INSERT INTO request_replies (key, reply, request_digest)
      SELECT $23, $24, $25 FROM logged WHERE $23::text IS NOT NULL
    )
    SELECT count(*)::int FROM claimed
    """
  typealias Row = Int

  var activity: Crm_Activity_V1_ActivityRecord
  var id: UUID
  var contact: UUID
  var deal: UUID?
  var contextJSON: String
  /// As given: the record carries them as stored (`StoredTime`).
  var occurredAt: Date
  var recordedAt: Date
  var logged: OutboxEvent
  /// The review item's id, why it was withheld (if it was), and its event.
  var review: (itemID: String, withheld: String?, event: OutboxEvent)?
  /// The request's idempotency key (nil without one), the reply stored under it and the
  /// request's digest (`RequestReplies.currentRequestDigest`, read by the request's task: the
  /// write may run in a group commit's).
  var requestKey: String?
  var reply: [UInt8]
  var requestDigest: String?

  func makeBindings() throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 25)
    bindings.append(id)
    bindings.append(activity.kind.text)
    bindings.append(contact)
    bindings.append(deal)
    bindings.append(activity.author)
    bindings.append(activity.authorID)
    bindings.append(activity.text)
    bindings.append(contextJSON)
    bindings.append(occurredAt)
    bindings.append(recordedAt)
    Outbox.bind([logged], into: &bindings)
    bindings.append(review?.itemID)
    bindings.append(review?.withheld)
    Outbox.bind(review.map { [$0.event] } ?? [], into: &bindings)
    bindings.append(requestKey)
    bindings.append(ByteBuffer(bytes: reply))
    bindings.append(requestDigest)
    return bindings
  }

  func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
}

/// What a `Date` becomes once stored in a `timestamptz` and read back (PostgresNIO's encoding:
/// whole microseconds since 2000, truncated): a record built before its write says what a read
/// of it will say.
enum StoredTime {
  static let start = Date(timeIntervalSince1970: 946_684_800)

  static func of(_ date: Date) -> Date {
    let microseconds = Int64(date.timeIntervalSince(start) * 1_000_000)
    return Date(timeInterval: Double(microseconds) / 1_000_000, since: start)
  }
}
