import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import PostgresNIO

/// Rubric versions: each definition is the next version; items keep the version they came under.
extension PostgresQualityControlRepository {
  /// Serialises definitions (two heads defining at once: one wins, the other is ABORTED).
  static let rubricLock: Int64 = 0x7163_7275_6272_6963  // "qcrubric"

  func defineRubric(_ definition: RubricDefinition, expectedVersion: Int64, actor: String) async throws
    -> Crm_Qualitycontrol_V1_Rubric
  {
    try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.rubricLock))", logger: logger).collect()
        let current =
          try await connection.query("SELECT coalesce(max(version), 0) FROM rubric_versions", logger: logger)
          .decode(Int64.self).first(where: { _ in true }) ?? 0
        guard current == expectedVersion else {
          throw VersionConflict(entity: "rubric", id: "rubric", expected: expectedVersion, current: current)
        }
        let version = current + 1
        _ = try await connection.query(
          "INSERT INTO rubric_versions (version, name, defined_by) VALUES (\(version), \(definition.name), \(actor))",
          logger: logger
        ).collect()
        let criteria = definition.criteria
        _ = try await connection.query(
          """
          INSERT INTO rubric_criteria (version, position, key, label, weight, scale_max)
          SELECT \(version), c.position, c.key, c.label, c.weight, c.scale_max
          FROM unnest(\(Array(0..<criteria.count))::int[], \(criteria.map(\.key))::text[],
                      \(criteria.map(\.label))::text[], \(criteria.map(\.weight))::int[], \(criteria.map(\.scaleMax))::int[])
               AS c (position, key, label, weight, scale_max)
          """,
          logger: logger
        ).collect()
        // Items that came before any rubric are scored against the first.
        if version == 1 {
          _ = try await connection.query(
            "UPDATE review_items SET rubric_version = 1 WHERE rubric_version IS NULL", logger: logger
          ).collect()
        }
        guard let rubric = try await rubric(version: version, on: connection) else {
          throw RuleBroken(description: "the rubric was not stored")
        }
        try await publish(
          Crm_Qualitycontrol_V1_RubricDefined.with { $0.rubric = rubric }, aggregateID: "rubric", version: version,
          actor: actor, on: connection)
        try await RequestReplies.record(rubric, key: key, on: connection, logger: logger)
        return rubric
      }
    }
  }

  func rubric(version: Int64?) async throws -> Crm_Qualitycontrol_V1_Rubric {
    try await client.withConnection { connection in
      guard let rubric = try await rubric(version: version, on: connection) else {
        throw NoSuchRubric(version: version)
      }
      return rubric
    }
  }
}
