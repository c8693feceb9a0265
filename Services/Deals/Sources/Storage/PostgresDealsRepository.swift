import CRMContracts
import CRMDatabase
import CRMEvents
import CRMRuntime
import Foundation
import Logging
import PostgresNIO
import SwiftProtobuf

/// `DealsRepository` on the service's PostgreSQL database.
struct PostgresDealsRepository: DealsRepository {
  let client: PostgresClient
  let logger: Logger
  let stageCache = StageCache()

  /// Writes one of this service's events to the outbox, in the caller's transaction.
  func publish(
    _ payload: some Message, aggregateID: String, version: Int64, actor: String, on connection: PostgresConnection
  ) async throws {
    try await Outbox.append(
      [try DealsEvents.event(aggregateID: aggregateID, version: version, actor: actor, payload)],
      on: connection, logger: logger)
  }

  /// The stages of pipeline `id`, in order.
  func stages(of pipelineID: UUID, on connection: PostgresConnection) async throws -> [PipelineStage] {
    let rows = try await connection.query(
      """
      SELECT id, name, position, default_probability, retired FROM stages
      WHERE pipeline_id = \(pipelineID) ORDER BY position
      """,
      logger: logger)
    var stages: [PipelineStage] = []
    for try await (id, name, position, probability, retired) in rows.decode((UUID, String, Int32, Int32, Bool).self) {
      stages.append(
        PipelineStage(id: id, name: name, position: position, defaultProbability: probability, retired: retired))
    }
    return stages
  }
}

/// Wire text of ids and times.
extension UUID {
  var text: String { uuidString.lowercased() }
}

extension Date {
  var timestamp: Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: self) }
}
