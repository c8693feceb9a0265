import Logging
import PostgresNIO

/// What the dashboard's filters offer: the pipelines reporting knows (with their stages' names)
/// and the managers who sign in (their names). Both are small tables read on each page; the
/// reports themselves come through `InProcessReports`.
struct DashboardDirectory: Sendable {
  struct Pipeline: Sendable, Equatable {
    var id: String
    var name: String
    var businessLine: String
    /// Stage id → name, for the stalled deals' list.
    var stages: [String: String]
  }

  struct Manager: Sendable, Equatable {
    var id: String
    var name: String
  }

  let client: PostgresClient
  let logger: Logger

  /// By name, then id.
  func pipelines() async throws -> [Pipeline] {
    var pipelines: [String: Pipeline] = [:]
    let rows = try await client.query(
      """
      SELECT p.id, p.name, p.business_line, s.stage_id, s.name
      FROM pipelines p LEFT JOIN pipeline_stages s ON s.pipeline_id = p.id
      """, logger: logger)
    for try await (id, name, line, stage, stageName) in rows.decode((String, String, String, String?, String?).self) {
      pipelines[id, default: Pipeline(id: id, name: name, businessLine: line, stages: [:])].stages[stage ?? ""] =
        stageName
    }
    return pipelines.values.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
  }

  /// Enabled users with a manager id, by name.
  func managers() async throws -> [Manager] {
    var managers: [Manager] = []
    let rows = try await client.query(
      """
      SELECT DISTINCT ON (manager_id) manager_id, display_name FROM web_users
      WHERE manager_id IS NOT NULL AND disabled_at IS NULL ORDER BY manager_id, login
      """, logger: logger)
    for try await (id, name) in rows.decode((String, String).self) { managers.append(Manager(id: id, name: name)) }
    return managers.sorted { ($0.name, $0.id) < ($1.name, $1.id) }
  }
}
