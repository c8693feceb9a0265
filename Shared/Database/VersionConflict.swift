import CRMDomain
import Foundation

/// Optimistic concurrency: every mutable aggregate row has a `version`; an update names the
/// version it read (`... WHERE id = $1 AND version = $2`). Zero rows updated means someone else
/// changed it first — or it does not exist.
extension VersionConflict {
  /// Interprets an optimistic update: returns when a row was updated; otherwise throws
  /// `VersionConflict` with the current version, or `NotFound` when there is no such row.
  public static func check(
    updatedRows: Int,
    entity: String,
    id: String,
    expected: Int64,
    currentVersion: () async throws -> Int64?
  ) async throws {
    guard updatedRows == 0 else { return }
    guard let current = try await currentVersion() else { throw NotFound(entity: entity, id: id) }
    throw VersionConflict(entity: entity, id: id, expected: expected, current: current)
  }
}

extension UUID {
  /// The id of a stored `entity`, or NotFound: an id that is not a UUID names nothing.
  public init(_ id: String, of entity: String) throws(NotFound) {
    guard let uuid = UUID(uuidString: id) else {
      // Named as given when it reads as an id; a long or odd one is quoted and cut.
      let shown = id.utf8.count <= 64 && id.unicodeScalars.allSatisfy { Text.allowed($0, multiline: false) }
      throw NotFound(entity: entity, id: shown ? id : Text.quoted(id))
    }
    self = uuid
  }
}
