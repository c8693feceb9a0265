import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import Logging
import PostgresNIO

/// Applies stored events to the read models in the caller's transaction, a batch at a time,
/// with the result of applying them one at a time in the order given: the live inbox and the
/// rebuild both call it, so both give the same rows, however the events were batched. An event
/// at or below the stored version of its aggregate changes nothing (a late duplicate).
///
/// A batch is decoded first (a bad payload rejects the whole batch before anything is written:
/// the inbox then applies its events one by one and dead-letters that one), then judged against
/// the aggregates' versions, folded per row (`ProjectionBatch`) and written with one statement
/// per projection.
struct Projector: Sendable {
  let logger: Logger

  /// What became of an event.
  enum Outcome: Equatable, Sendable {
    case projected
    /// Its aggregate had this version or a newer one already.
    case stale
    /// A type reporting does not project (stored only).
    case unknown
  }

  func project(_ events: [StoredEvent], on connection: PostgresConnection) async throws -> [Outcome] {
    let changes = try events.map { event in
      do {
        return try event.change()
      } catch let error as InvalidField {
        throw EventRejected("\(event.type.prefix(120)) (event \(event.eventID.prefix(64))): \(error)")
      }
    }
    var outcomes = changes.map { $0 == nil ? Outcome.unknown : .projected }
    let known = events.indices.filter { changes[$0] != nil }
    let applies = try await AggregateVersions.advance(known.map { events[$0] }, on: connection, logger: logger)
    var batch = ProjectionBatch()
    for (index, applied) in zip(known, applies) {
      if applied, let change = changes[index] {
        batch.add(change)
      } else {
        outcomes[index] = .stale
      }
    }
    try await ProjectionWriter(logger: logger).write(batch, on: connection)
    try await ProjectionVersion.advance(batch.areas, on: connection, logger: logger)
    return outcomes
  }
}
