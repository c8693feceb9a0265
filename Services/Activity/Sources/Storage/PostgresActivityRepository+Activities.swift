import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO

/// Activities: logged once (a repeated request answers the first record), read as timelines.
extension PostgresActivityRepository {
  /// What `decodeActivity` reads from `activities a`, in its order.
  static let activityColumns = """
    a.id, a.kind, a.contact_id, a.deal_id, a.author, a.author_id, a.text, a.context::text, a.occurred_at,
    a.recorded_at, a.seq
    """

  func logActivity(_ activity: ActivityInput.NewActivity, by principal: Principal) async throws
    -> Crm_Activity_V1_ActivityRecord
  {
    try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        let about = try await subject(contact: activity.contactID, deal: activity.dealID, on: connection)
        try Self.checkMay(principal, workOn: about.what, ownedBy: about.owner)
        // Most activities carry no context: no need to read the catalogue for them.
        let context = activity.context.isEmpty ? [:] : try await catalogue(on: connection).check(activity.context)
        let id = UUID()
        let rows = try await connection.query(
          """
          INSERT INTO activities AS a (id, kind, contact_id, deal_id, author, author_id, text, context, occurred_at)
          VALUES (\(id), \(activity.kind.text), \(about.contact), \(activity.dealID), \(principal.description),
                  \(principal.subject), \(activity.text), \(try StoredValue.json(context))::jsonb, \(activity.occurredAt))
          RETURNING \(unescaped: Self.activityColumns)
          """,
          logger: logger)
        guard let record = try await Self.decodeActivities(rows).first?.activity else {
          throw RuleBroken(description: "the activity was not stored")
        }
        try await publish(
          Crm_Activity_V1_ActivityLogged.with { $0.activity = record }, aggregateID: record.id, version: 1,
          actor: principal.description, on: connection)
        try await review?.append(for: record, on: connection, logger: logger)
        try await RequestReplies.record(record, key: key, on: connection, logger: logger)
        return record
      }
    }
  }

  func timeline(_ subject: TimelineSubject, after cursor: Int64?, limit: Int) async throws -> (
    [Crm_Activity_V1_ActivityRecord], next: Int64?
  ) {
    // The column is one of three fixed names; the value is bound.
    let (column, value): (String, any PostgresDynamicTypeEncodable) =
      switch subject {
      case .contact(let id): ("contact_id", id)
      case .deal(let id): ("deal_id", id)
      case .manager(let id): ("author_id", id)
      }
    let query: PostgresQuery = """
      SELECT \(unescaped: Self.activityColumns) FROM activities a
      WHERE a.\(unescaped: column) = \(value)
        AND (\(cursor)::bigint IS NULL
             OR (a.occurred_at, a.seq) < (SELECT occurred_at, seq FROM activities WHERE seq = \(cursor)))
      ORDER BY a.occurred_at DESC, a.seq DESC LIMIT \(limit + 1)
      """
    let found = try await Self.decodeActivities(try await client.query(query, logger: logger))
    if found.isEmpty && cursor == nil { try await requireKnown(subject) }
    guard found.count > limit else { return (found.map(\.activity), nil) }
    return (found.prefix(limit).map(\.activity), found[limit - 1].seq)
  }

  /// An empty timeline of a contact or deal the service has never heard of is NOT_FOUND.
  private func requireKnown(_ subject: TimelineSubject) async throws {
    let table: String
    let entity: String
    let id: UUID
    switch subject {
    case .contact(let contact): (table, entity, id) = ("known_contacts", "contact", contact)
    case .deal(let deal): (table, entity, id) = ("known_deals", "deal", deal)
    case .manager: return
    }
    let rows = try await client.query(
      "SELECT 1 FROM \(unescaped: table) WHERE id = \(id)", logger: logger
    ).collect()
    guard !rows.isEmpty else { throw NotFound(entity: entity, id: id.text) }
  }

  static func decodeActivities(_ rows: PostgresRowSequence) async throws -> [(
    activity: Crm_Activity_V1_ActivityRecord, seq: Int64
  )] {
    var activities: [(Crm_Activity_V1_ActivityRecord, Int64)] = []
    for try await (id, kind, contactID, dealID, author, authorID, text, context, occurredAt, recordedAt, seq)
      in rows.decode((UUID, String, UUID?, UUID?, String, String, String, String, Date, Date, Int64).self)
    {
      var activity = Crm_Activity_V1_ActivityRecord()
      activity.id = id.text
      activity.kind = Crm_Activity_V1_ActivityKind(text: kind)
      activity.contactID = contactID?.text ?? ""
      activity.dealID = dealID?.text ?? ""
      activity.author = author
      activity.authorID = authorID
      activity.text = text
      activity.context = try StoredValue.context(context)
      activity.occurredAt = occurredAt.timestamp
      activity.recordedAt = recordedAt.timestamp
      activities.append((activity, seq))
    }
    return activities
  }
}
