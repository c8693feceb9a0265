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
/// statement, then projected as a batch (`Projector`: a few statements, however many events),
/// in the inbox's transaction. A bad payload is `EventRejected`: the inbox applies that batch
/// again one by one and dead-letters the one event, which is then not stored either.
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
    // An event id stored before is not projected again, nor a second copy within the batch.
    var fresh = inserted
    _ = try await projector.project(stored.filter { fresh.remove($0.eventID) != nil }, on: connection)
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
    var inserted = Set<String>()
    for try await id in try await connection.execute(StoreEvents(events), logger: logger) { inserted.insert(id) }
    return inserted
  }
}

/// The batch's events in `events`, seq in batch order (an id stored before is skipped).
struct StoreEvents: PostgresPreparedStatement {
  typealias Row = String
  static let sql = """
    INSERT INTO events (event_id, topic, partition, record_offset, type, aggregate_id, aggregate_version, actor,
      occurred_at, payload, projected)
    SELECT id, topic, part, record_offset, type, aggregate_id, version, actor,
      CASE WHEN has_time THEN occurred_at END, payload, projected
    FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::text[],
      $9::bool[], $10::timestamptz[], $11::bytea[], $12::bool[])
      WITH ORDINALITY AS e (id, topic, part, record_offset, type, aggregate_id, version, actor, has_time,
        occurred_at, payload, projected, position)
    ORDER BY position
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
    """
  let bindings: PostgresBindings

  init(_ events: [StoredEvent]) {
    var bindings = PostgresBindings()
    bindings.append(events.map(\.eventID))
    bindings.append(events.map(\.topic))
    bindings.append(events.map(\.partition))
    bindings.append(events.map(\.offset))
    bindings.append(events.map(\.type))
    bindings.append(events.map(\.aggregateID))
    bindings.append(events.map(\.aggregateVersion))
    bindings.append(events.map(\.actor))
    bindings.append(events.map { $0.occurredAt != nil })
    bindings.append(events.map { $0.occurredAt ?? Date(timeIntervalSince1970: 0) })
    bindings.append(events.map { ByteBuffer(bytes: $0.payload) })
    bindings.append(events.map { ProjectedChange.projects($0.type) })
    self.bindings = bindings
  }

  func makeBindings() -> PostgresBindings { bindings }
  func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(String.self) }
}
