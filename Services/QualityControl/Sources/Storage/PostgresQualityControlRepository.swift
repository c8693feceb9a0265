import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import Logging
import PostgresNIO
import SwiftProtobuf

/// `QualityControlRepository` on the service's PostgreSQL database.
struct PostgresQualityControlRepository: QualityControlRepository {
  let client: PostgresClient
  let logger: Logger
  let settings: QualityControlSettings

  /// Writes one of this service's events to the outbox, in the caller's transaction.
  func publish(
    _ payload: some Message, aggregateID: String, version: Int64, actor: String, on connection: PostgresConnection
  ) async throws {
    try await Outbox.append(
      [try QualityControlEvents.event(aggregateID: aggregateID, version: version, actor: actor, payload)],
      on: connection, logger: logger)
  }

  /// A rubric version (nil: the current one); nil when there is none.
  func rubric(version: Int64?, on connection: PostgresConnection) async throws -> Crm_Qualitycontrol_V1_Rubric? {
    let rows = try await connection.query(
      """
      SELECT version, name, defined_by, defined_at FROM rubric_versions
      WHERE version = coalesce(\(version)::bigint, (SELECT max(version) FROM rubric_versions))
      """,
      logger: logger)
    guard
      let (number, name, definedBy, definedAt) = try await rows.decode((Int64, String, String, Date).self)
        .first(where: { _ in true })
    else { return nil }
    var rubric = Crm_Qualitycontrol_V1_Rubric()
    rubric.version = number
    rubric.name = name
    rubric.definedBy = definedBy
    rubric.definedAt = Google_Protobuf_Timestamp(date: definedAt)
    let criteria = try await connection.query(
      "SELECT key, label, weight, scale_max FROM rubric_criteria WHERE version = \(number) ORDER BY position",
      logger: logger)
    for try await (key, label, weight, scaleMax) in criteria.decode((String, String, Int, Int).self) {
      rubric.criteria.append(
        .with {
          $0.key = key
          $0.label = label
          $0.weight = Int32(weight)
          $0.scaleMax = Int32(scaleMax)
        })
    }
    return rubric
  }
}

extension Crm_Qualitycontrol_V1_Rubric {
  /// The criteria as the score check takes them.
  var checkedCriteria: [RubricCriterion] {
    criteria.map { RubricCriterion(key: $0.key, label: $0.label, weight: Int($0.weight), scaleMax: Int($0.scaleMax)) }
  }
}

/// Context attributes as stored (jsonb of key → text).
enum StoredContext {
  static func json(_ context: [String: String]) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    return String(decoding: try encoder.encode(context), as: UTF8.self)
  }

  static func context(_ json: String) throws -> [String: String] {
    try JSONDecoder().decode([String: String].self, from: Data(json.utf8))
  }
}

extension UUID {
  var text: String { uuidString.lowercased() }
}

extension Date {
  var timestamp: Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: self) }
}
