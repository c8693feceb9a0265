import CRMContracts
import CRMDatabase
import Foundation
import Logging
import PostgresNIO

/// `ReportingRepository` on the reporting database's read models.
struct PostgresReportingRepository: ReportingRepository {
  let client: PostgresClient
  let logger: Logger
  /// A funnel over whole months is read from its cells, unless its pipeline saw this many visits
  /// or fewer in them: then from the visits, exact, median too (the cells' `StayHistogram`
  /// estimates it). The visits cost about 20 µs each (a deal looked up per visit), so the bound
  /// keeps that path under about 20 ms (at 20,000 a month's funnel took 400 ms at 1M deals).
  var funnelExactVisits = 1_000

  func rebuildProjections() async throws -> ProjectionRebuild.Summary {
    try await ProjectionRebuild(client: client, logger: logger).run()
  }

  /// A pipeline's stages in order (id → name and position); nil when the pipeline is unknown.
  func stages(of pipelineID: String) async throws -> [(id: String, name: String, position: Int32)]? {
    let rows = try await client.query(
      """
      SELECT s.stage_id, s.name, s.position FROM pipelines p
      LEFT JOIN pipeline_stages s ON s.pipeline_id = p.id
      WHERE p.id = \(pipelineID) ORDER BY s.position, s.stage_id
      """, logger: logger)
    var found = false
    var stages: [(id: String, name: String, position: Int32)] = []
    for try await (id, name, position) in rows.decode((String?, String?, Int32?).self) {
      found = true
      if let id, let name, let position { stages.append((id, name, position)) }
    }
    return found ? stages : nil
  }

  /// Stage names by pipeline and stage id.
  func stageNames() async throws -> [String: String] {
    var names: [String: String] = [:]
    let rows = try await client.query("SELECT pipeline_id, stage_id, name FROM pipeline_stages", logger: logger)
    for try await (pipeline, stage, name) in rows.decode((String, String, String).self) {
      names[pipeline + "/" + stage] = name
    }
    return names
  }
}
