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

  /// Logs an activity in two round trips: one read (`ActivitySubjectRead`, with the catalogue's
  /// when it carries a context) and one write (`LogActivityWrite`) that commits the row, its
  /// event, its review item and the request's reply at once, or nothing; writes of activities
  /// logged at the same time share one statement and commit (`LogActivityWrites`). The record is made
  /// before the write, with its times as a read of the row gives them (`StoredTime`).
  func logActivity(_ activity: ActivityInput.NewActivity, by principal: Principal) async throws
    -> Crm_Activity_V1_ActivityRecord
  {
    try await idempotent(client: client, logger: logger) { key in
      let (write, made) = try await activityWrite(activity, by: principal, key: key)
      // Activities logged together share a commit (`GroupCommit`).
      let repository = self
      let claimed = try await commits.activities.write(
        write, logger: logger, batch: { try await repository.logActivities($0) },
        alone: { try await repository.logActivityAlone($0) })
      if claimed > 0, let made { ReviewItemMaker.count(made) }
      return write.activity
    }
  }

  /// What logging `activity` writes, made after its read: the record, its event, its review
  /// item (if it gets one) and the reply under the request's `key`.
  func activityWrite(_ activity: ActivityInput.NewActivity, by principal: Principal, key: String?) async throws
    -> (write: LogActivityWrite, made: ReviewItemMaker.Made?)
  {
    let reviewed = review != nil && ReviewItemMaker.reviews(activity)
    let subject = try await loggingSubject(of: activity, forReview: reviewed)
    try Self.checkMay(principal, workOn: subject.what, ownedBy: subject.row.owner)
    // Most activities carry no context: no need to read the catalogue for them (and with no
    // context, no attribute is safe to send along).
    let catalogue = activity.context.isEmpty ? nil : try await catalogue()
    let context = try catalogue?.check(activity.context) ?? [:]
    let id = UUID()
    let contextJSON = try StoredValue.json(context)
    let recordedAt = Date()
    let stored = try Crm_Activity_V1_ActivityRecord.with {
      $0.id = id.text
      $0.kind = activity.kind
      $0.contactID = subject.row.contact.text
      $0.dealID = activity.dealID?.text ?? ""
      $0.author = principal.description
      $0.authorID = principal.subject
      $0.text = activity.text
      $0.occurredAt = StoredTime.of(activity.occurredAt).timestamp
      $0.recordedAt = StoredTime.of(recordedAt).timestamp
      $0.context = try StoredValue.context(contextJSON)
    }
    let made =
      reviewed
      ? try await review?.item(
        for: stored, company: subject.row.company, names: subject.row.names,
        namesVersion: subject.row.namesVersion ?? 0, safeKeys: catalogue?.safeKeys ?? [], client: client,
        logger: logger) : nil
    let logged = try ActivityEvents.event(
      aggregateID: stored.id, version: 1, actor: principal.description,
      Crm_Activity_V1_ActivityLogged.with { $0.activity = stored })
    let write = LogActivityWrite(
      activity: stored, id: id, contact: subject.row.contact, deal: activity.dealID, contextJSON: contextJSON,
      occurredAt: activity.occurredAt, recordedAt: recordedAt, logged: logged,
      review: made.map { (itemID: $0.item.itemID, withheld: $0.withheld?.rawValue, event: $0.event) },
      requestKey: key, reply: try stored.serializedBytes(), requestDigest: RequestReplies.currentRequestDigest)
    return (write, made)
  }

  /// Writes activities at once (`LogActivityWrites`); the number of review items each claimed.
  func logActivities(_ writes: [LogActivityWrite]) async throws -> [Int] {
    var claimed = Set<UUID>()
    for try await id in try await client.execute(LogActivityWrites(writes: writes), logger: logger) {
      claimed.insert(id)
    }
    return writes.map { claimed.contains($0.id) ? 1 : 0 }
  }

  /// Writes one activity (`LogActivityWrite`); the number of review items it claimed.
  private func logActivityAlone(_ write: LogActivityWrite) async throws -> Int {
    try await client.execute(write, logger: logger).first { _ in true } ?? 0
  }

  /// What an activity is about (`subject(contact:deal:on:)`'s rules), read with what its review
  /// item needs.
  private func loggingSubject(of activity: ActivityInput.NewActivity, forReview: Bool) async throws -> (
    row: ActivitySubjectRead.Row, what: String
  ) {
    guard activity.contactID != nil || activity.dealID != nil else {
      throw InvalidField(field: "contact_id", reason: "is empty and so is deal_id")
    }
    let read = ActivitySubjectRead(deal: activity.dealID, contact: activity.contactID, forReview: forReview)
    let row = try await client.execute(read, logger: logger).first { _ in true }
    if let deal = activity.dealID {
      guard let row else { throw NotFound(entity: "deal", id: deal.text) }
      if let contact = activity.contactID, contact != row.contact {
        throw InvalidField(
          field: "contact_id", reason: "deal \(deal.text) is with contact \(row.contact.text), not \(contact.text)")
      }
      return (row, "deal \(deal.text)")
    }
    guard let row, let contact = activity.contactID else {
      throw NotFound(entity: "contact", id: activity.contactID?.text ?? "")
    }
    return (row, "contact \(contact.text)")
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
