import CRMContracts
import CRMDatabase
import CRMEvents
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
    _ payload: some Message, aggregateID: String, version: Int64, actor: String, occurredAt: Date = Date(),
    on connection: PostgresConnection
  ) async throws {
    try await Outbox.append(
      [
        try DealsEvents.event(aggregateID: aggregateID, version: version, actor: actor, occurredAt: occurredAt, payload)
      ],
      on: connection, logger: logger)
  }

  /// The stages of a pipeline in order, with the pipeline's version; none when there is no
  /// such pipeline (a pipeline always has stages).
  func stages(of pipelineID: UUID, on connection: PostgresConnection) async throws -> (
    version: Int64, stages: [PipelineStage]
  ) {
    var version: Int64 = 0
    var stages: [PipelineStage] = []
    for try await row in try await connection.execute(PipelineStages(pipelineID: pipelineID), logger: logger) {
      version = row.version
      stages.append(row.stage)
    }
    return (version, stages)
  }
}

/// Wire text of ids and times.
extension UUID {
  var text: String { uuidString.lowercased() }
}

extension Date {
  var timestamp: Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: self) }
}
