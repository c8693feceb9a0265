import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import PostgresNIO

/// The attribute catalogue: defined and revised by a head of sales, read by everyone who logs.
extension PostgresActivityRepository {
  static let attributeColumns = "key, label, type, choices, retired, version, qc_safe"

  func defineAttribute(_ definition: AttributeDefinition, expectedVersion: Int64, actor: String) async throws
    -> Crm_Activity_V1_AttributeDefinition
  {
    try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        let rows = try await connection.query(
          """
          SELECT \(unescaped: Self.attributeColumns) FROM attributes WHERE key = \(definition.key) FOR UPDATE
          """,
          logger: logger)
        let current = try await decodeAttributes(rows).first
        switch (current, expectedVersion) {
        case (nil, 0):
          // Two heads of sales adding the same key at once: the second learns of the first.
          let inserted = try await connection.query(
            """
            INSERT INTO attributes (key, label, type, choices, retired, qc_safe)
            VALUES (\(definition.key), \(definition.label), \(definition.type.text), \(definition.choices),
                    \(definition.retired), \(definition.qcSafe))
            ON CONFLICT (key) DO NOTHING RETURNING key
            """,
            logger: logger
          ).collect()
          guard !inserted.isEmpty else {
            let version = try await client.query(
              "SELECT version FROM attributes WHERE key = \(definition.key)", logger: logger
            ).decode(Int64.self).first { _ in true }
            throw AttributeExists(key: definition.key, version: version ?? 1)
          }
        case (nil, _):
          throw NotFound(entity: "attribute", id: definition.key)
        case (let current?, 0):
          throw AttributeExists(key: definition.key, version: current.version)
        case (let current?, let expected):
          guard current.version == expected else {
            throw VersionConflict(entity: "attribute", id: definition.key, expected: expected, current: current.version)
          }
          try definition.checkRevision(of: Self.definition(current))
          _ = try await connection.query(
            """
            UPDATE attributes SET label = \(definition.label), choices = \(definition.choices),
              retired = \(definition.retired), qc_safe = \(definition.qcSafe), version = version + 1
            WHERE key = \(definition.key)
            """,
            logger: logger
          ).collect()
        }
        var defined = definition.message
        defined.version = (current?.version ?? 0) + 1
        try await publish(
          Crm_Activity_V1_AttributeDefined.with { $0.attribute = defined }, aggregateID: defined.key,
          version: defined.version, actor: actor, on: connection)
        try await RequestReplies.record(defined, key: key, on: connection, logger: logger)
        return defined
      }
    }
  }

  func attributes() async throws -> [Crm_Activity_V1_AttributeDefinition] {
    try await decodeAttributes(
      try await client.query("SELECT \(unescaped: Self.attributeColumns) FROM attributes ORDER BY seq", logger: logger))
  }

  /// The whole catalogue, for checking a context before it is stored.
  func catalogue() async throws -> AttributeCatalogue {
    let rows = try await client.query("SELECT \(unescaped: Self.attributeColumns) FROM attributes", logger: logger)
    return AttributeCatalogue(try await decodeAttributes(rows).map(Self.definition))
  }

  func decodeAttributes(_ rows: PostgresRowSequence) async throws -> [Crm_Activity_V1_AttributeDefinition] {
    var attributes: [Crm_Activity_V1_AttributeDefinition] = []
    for try await (key, label, type, choices, retired, version, qcSafe) in rows.decode(
      (String, String, String, [String], Bool, Int64, Bool).self)
    {
      attributes.append(
        .with {
          $0.key = key
          $0.label = label
          $0.type = Crm_Activity_V1_AttributeType(text: type)
          $0.choices = choices
          $0.retired = retired
          $0.version = version
          $0.qcSafe = qcSafe
        })
    }
    return attributes
  }

  static func definition(_ message: Crm_Activity_V1_AttributeDefinition) -> AttributeDefinition {
    AttributeDefinition(
      key: message.key, label: message.label, type: message.type, choices: message.choices, retired: message.retired,
      qcSafe: message.qcSafe)
  }
}
