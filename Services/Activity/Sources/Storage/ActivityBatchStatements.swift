import CRMEvents
import Foundation
import PostgresNIO

/// `LogActivityWrite` for many activities in one statement (one commit, `GroupCommit`): the rows,
/// their `ActivityLogged`, the review items' claims and, for each claim that is new, its event,
/// and the replies under the requests' keys. All or nothing: a key stored before fails the
/// whole batch (each is then written alone). Returns the ids of the activities whose review
/// item was claimed.
struct LogActivityWrites: PostgresPreparedStatement {
  static let sql = """
    WITH given AS (
      SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::text[], $13::text[],
                           $14::bytea[], $15::text[])
        WITH ORDINALITY AS g(id, kind, contact_id, deal_id, author, author_id, text, context, occurred_at,
                             recorded_at, item_id, withheld, key, reply, digest, position)
    ), logged AS (
      INSERT INTO activities (id, kind, contact_id, deal_id, author, author_id, text, context, occurred_at,
                              recorded_at)
      SELECT id, kind, contact_id, NULLIF(deal_id, '')::uuid, author, author_id, text, context::jsonb, occurred_at,
             recorded_at
      FROM given ORDER BY position
      RETURNING id
    ), appended AS (\(Outbox.preparedInsert(firstParameter: 16, whenRowsIn: "logged"))
    ), claimed AS (
      INSERT INTO review_items (activity_id, item_id, withheld)
      SELECT id, item_id, NULLIF(withheld, '') FROM given
      WHERE item_id <> '' AND id IN (SELECT id FROM logged) ORDER BY position
      ON CONFLICT DO NOTHING RETURNING activity_id
    ), reviewed AS (\(Outbox.preparedInsert(firstParameter: 21, whenOwnerIn: "claimed", column: "activity_id"))
    ), replied AS (
      INSERT INTO request_replies (key, reply, request_digest)
      SELECT key, reply, NULLIF(digest, '') FROM given WHERE key <> '' AND id IN (SELECT id FROM logged)
    )
    SELECT activity_id FROM claimed
    """
  typealias Row = UUID

  var writes: [LogActivityWrite]

  func makeBindings() throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 26)
    bindings.append(writes.map(\.id))
    bindings.append(writes.map(\.activity.kind.text))
    bindings.append(writes.map(\.contact))
    bindings.append(writes.map { $0.deal?.uuidString.lowercased() ?? "" })
    bindings.append(writes.map(\.activity.author))
    bindings.append(writes.map(\.activity.authorID))
    bindings.append(writes.map(\.activity.text))
    bindings.append(writes.map(\.contextJSON))
    bindings.append(writes.map(\.occurredAt))
    bindings.append(writes.map(\.recordedAt))
    bindings.append(writes.map { $0.review?.itemID ?? "" })
    bindings.append(writes.map { $0.review?.withheld ?? "" })
    bindings.append(writes.map { $0.requestKey ?? "" })
    bindings.append(writes.map { ByteBuffer(bytes: $0.reply) })
    bindings.append(writes.map { $0.requestDigest ?? "" })
    Outbox.bind(writes.map(\.logged), into: &bindings)
    let reviewed = writes.compactMap { write in write.review.map { (event: $0.event, owner: write.id) } }
    Outbox.bind(reviewed.map(\.event), owners: reviewed.map(\.owner), into: &bindings)
    return bindings
  }

  func decodeRow(_ row: PostgresRow) throws -> UUID { try row.decode(UUID.self) }
}
