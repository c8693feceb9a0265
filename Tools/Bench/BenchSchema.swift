import CRMDatabase
import Foundation
import Logging
import PostgresNIO

/// A schema of the bench's own in a service's database, dropped afterwards (also on failure):
/// `body` gets a client whose tables land there.
func withBenchSchema<T: Sendable>(
  database: String,
  maximumConnections: Int? = nil,
  sessionSettings: [String: String] = [:],
  logger: Logger,
  _ body: (PostgresClient) async throws -> T
) async throws -> T {
  let schema = "bench_\(UUID().uuidString.prefix(8).lowercased())"
  let base = try DatabaseURL.parse(database)
  var scoped = base
  scoped.apply(sessionSettings: sessionSettings)
  scoped.apply(sessionSettings: ["search_path": schema])
  if let maximumConnections { scoped.options.maximumConnections = maximumConnections }
  let admin = PostgresClient(configuration: base, backgroundLogger: logger)
  let client = PostgresClient(configuration: scoped, backgroundLogger: logger)
  return try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await admin.run() }
    group.addTask { await client.run() }
    defer { group.cancelAll() }
    _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)")).collect()
    do {
      let result = try await body(client)
      _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE")).collect()
      return result
    } catch {
      _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE")).collect()
      throw error
    }
  }
}
