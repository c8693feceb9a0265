import CRMContracts
import CRMDatabase
import CRMEvents
import Foundation
import Logging
import Metrics
import PostgresNIO

/// Reporting's one inbox, `reporting-events` (group `crm.inbox.reporting-events`, dead letters
/// `crm.dlq.reporting-events`: inside the broker ACLs' `reporting-` prefixes): every event of
/// contacts, deals, activity and quality-control. A poll batch is stored in `events` with one
/// statement, then projected event by event in that order (`Projector`), in the inbox's
/// transaction. A bad payload is `EventRejected`: the inbox applies that batch again one by
/// one and dead-letters the one event, which is then not stored either.
struct ReportingEventsHandler: Sendable {
  static let name = "reporting-events"
  static let topics = [EventTopics.contacts, EventTopics.deals, EventTopics.activity, EventTopics.qualityControl]
  /// Seconds from an event's occurred_at to its projection (the producer's clock against ours:
  /// one host locally). `events.stored_at − events.occurred_at` keeps the same for benches.
  static let freshness = Metrics.Timer(label: "crm_reporting_event_freshness_seconds")

  let logger: Logger
  var projector: Projector { Projector(logger: logger) }

  var subscription: InboxSubscription {
    InboxSubscription(name: Self.name, topics: Self.topics) { events, connection in
      try await apply(events, on: connection)
    }
  }

  /// Stores and projects `events` (fresh ones: the inbox has dropped those seen before).
  func apply(_ events: [ReceivedEvent], on connection: PostgresConnection) async throws {
    let stored = events.map(StoredEvent.init)
    let inserted = try await store(stored, on: connection)
    for event in stored where inserted.contains(event.eventID) {
      _ = try await projector.project(event, on: connection)
    }
    let now = Date()
    for event in stored {
      // Older than a day is a history import or a replay, not lag (and a forged age of centuries
      // would overflow the nanoseconds).
      guard let occurredAt = event.occurredAt, case let age = max(0, now.timeIntervalSince(occurredAt)), age <= 86_400
      else { continue }
      Self.freshness.recordNanoseconds(Int64(age * 1_000_000_000))
    }
  }

  /// One INSERT for the batch, seq given in batch order; the ids actually inserted (an event id
  /// stored before is not stored or projected again).
  func store(_ events: [StoredEvent], on connection: PostgresConnection) async throws -> Set<String> {
    let rows = try await connection.query(
      """
      INSERT INTO events (event_id, topic, partition, record_offset, type, aggregate_id, aggregate_version, actor,
        occurred_at, payload, projected)
      SELECT id, topic, part, record_offset, type, aggregate_id, version, actor,
        CASE WHEN has_time THEN occurred_at END, payload, projected
      FROM unnest(
        \(events.map(\.eventID))::text[], \(events.map(\.topic))::text[], \(events.map(\.partition))::int[],
        \(events.map(\.offset))::bigint[], \(events.map(\.type))::text[], \(events.map(\.aggregateID))::text[],
        \(events.map(\.aggregateVersion))::bigint[], \(events.map(\.actor))::text[],
        \(events.map { $0.occurredAt != nil })::bool[],
        \(events.map { $0.occurredAt ?? Date(timeIntervalSince1970: 0) })::timestamptz[],
        \(events.map { ByteBuffer(bytes: $0.payload) })::bytea[],
        \(events.map { ProjectedChange.projects($0.type) })::bool[]
      ) WITH ORDINALITY AS e (id, topic, part, record_offset, type, aggregate_id, version, actor, has_time,
        occurred_at, payload, projected, position)
      ORDER BY position
      ON CONFLICT (event_id) DO NOTHING
      RETURNING event_id
      """, logger: logger)
    var inserted = Set<String>()
    for try await id in rows.decode(String.self) { inserted.insert(id) }
    return inserted
  }
}
