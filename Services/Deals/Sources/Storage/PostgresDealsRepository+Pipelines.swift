import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import PostgresNIO

extension PostgresDealsRepository {
  func definePipeline(_ definition: PipelineDefinition, id: String, expectedVersion: Int64, actor: String)
    async throws -> Crm_Deals_V1_Pipeline
  {
    // A definition delivered again answers its first result (a new pipeline is a create).
    try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        let pipelineID: UUID
        if id.isEmpty {
          pipelineID = UUID()
          try await requireFreeBusinessLine(definition.businessLine, except: nil, on: connection)
          _ = try await connection.query(
            """
            INSERT INTO pipelines (id, business_line, name, loss_reasons)
            VALUES (\(pipelineID), \(definition.businessLine), \(definition.name), \(definition.lossReasons))
            """,
            logger: logger
          ).collect()
        } else {
          pipelineID = try UUID(id, of: "pipeline")
          let current = try await loadPipeline(pipelineID, forUpdate: true, on: connection)
          guard current.version == expectedVersion else {
            throw VersionConflict(entity: "pipeline", id: id, expected: expectedVersion, current: current.version)
          }
          try definition.checkRevision(
            of: try current.stages.map { stage in
              StageDefinition(
                id: try UUID(stage.id, of: "stage"), name: stage.name, result: stage.result,
                defaultProbability: stage.defaultProbability, retired: stage.retired, existing: true)
            })
          try await requireFreeBusinessLine(definition.businessLine, except: pipelineID, on: connection)
          _ = try await connection.query(
            """
            UPDATE pipelines SET business_line = \(definition.businessLine), name = \(definition.name),
              loss_reasons = \(definition.lossReasons), version = version + 1
            WHERE id = \(pipelineID)
            """,
            logger: logger
          ).collect()
        }
        let stages = definition.stages
        // Positions are renumbered in order; the unique (pipeline, position) check waits for the commit.
        _ = try await connection.query(
          """
          INSERT INTO stages (id, pipeline_id, position, name, result, default_probability, retired)
          SELECT id, \(pipelineID), position::integer, name, result, probability, retired
          FROM unnest(\(stages.map(\.id)), \(stages.map(\.name)), \(stages.map(\.result)),
                      \(stages.map(\.defaultProbability)), \(stages.map(\.retired)))
               WITH ORDINALITY AS s(id, name, result, probability, retired, position)
          ON CONFLICT (id) DO UPDATE SET position = excluded.position, name = excluded.name, result = excluded.result,
            default_probability = excluded.default_probability, retired = excluded.retired
          """,
          logger: logger
        ).collect()
        let pipeline = try await loadPipeline(pipelineID, on: connection)
        try await publish(
          Crm_Deals_V1_PipelineDefined.with { $0.pipeline = pipeline }, aggregateID: pipeline.id,
          version: pipeline.version, actor: actor, on: connection)
        try await RequestReplies.record(pipeline, key: key, on: connection, logger: logger)
        return pipeline
      }
    }
  }

  /// One pipeline per business line (the sales standard): another pipeline of the line is refused.
  private func requireFreeBusinessLine(_ line: String, except id: UUID?, on connection: PostgresConnection)
    async throws
  {
    let rows = try await connection.query(
      "SELECT id FROM pipelines WHERE business_line = \(line) AND id IS DISTINCT FROM \(id)", logger: logger)
    if let other = try await rows.decode(UUID.self).first(where: { _ in true }) {
      throw RuleBroken(
        description: "business line \"\(line)\" already has pipeline \(other.text); a business line has one pipeline")
    }
  }

  func pipeline(id: String) async throws -> Crm_Deals_V1_Pipeline {
    let pipelineID = try UUID(id, of: "pipeline")
    return try await client.withConnection { try await loadPipeline(pipelineID, on: $0) }
  }

  func pipelines() async throws -> [Crm_Deals_V1_Pipeline] {
    try await client.withConnection { connection in
      let rows = try await connection.query("SELECT id FROM pipelines ORDER BY seq", logger: logger)
      var pipelines: [Crm_Deals_V1_Pipeline] = []
      for try await id in rows.decode(UUID.self) { pipelines.append(try await loadPipeline(id, on: connection)) }
      return pipelines
    }
  }

  /// The pipeline with its stages in order; `forUpdate` locks it for a revision.
  func loadPipeline(_ id: UUID, forUpdate: Bool = false, on connection: PostgresConnection) async throws
    -> Crm_Deals_V1_Pipeline
  {
    let rows = try await connection.query(
      """
      SELECT business_line, name, loss_reasons, version FROM pipelines
      WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
      """,
      logger: logger)
    guard
      let (line, name, reasons, version) = try await rows.decode((String, String, [String], Int64).self)
        .first(where: { _ in true })
    else { throw NotFound(entity: "pipeline", id: id.text) }
    let stageRows = try await connection.query(
      """
      SELECT id, name, result, default_probability, retired, position FROM stages
      WHERE pipeline_id = \(id) ORDER BY position
      """,
      logger: logger)
    var pipeline = Crm_Deals_V1_Pipeline()
    pipeline.id = id.text
    pipeline.businessLine = line
    pipeline.name = name
    pipeline.lossReasons = reasons
    pipeline.version = version
    for try await (stageID, stageName, result, probability, retired, position) in stageRows.decode(
      (UUID, String, String, Int32, Bool, Int32).self)
    {
      pipeline.stages.append(
        .with {
          $0.id = stageID.text
          $0.name = stageName
          $0.result = result
          $0.defaultProbability = probability
          $0.retired = retired
          $0.position = position
        })
    }
    return pipeline
  }
}
