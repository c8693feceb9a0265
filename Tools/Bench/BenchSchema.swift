import ArgumentParser
import CRMDatabase
import Foundation
import Logging
import PostgresNIO

/// A schema of the bench's own in a service's database, dropped afterwards (also on failure):
/// `body` gets a client whose tables land there. With `kept`, the schema of that name is made if
/// missing and left in place, so that a later run can reuse what was loaded into it.
func withBenchSchema<T: Sendable>(
  database: String,
  maximumConnections: Int? = nil,
  sessionSettings: [String: String] = [:],
  kept: String? = nil,
  logger: Logger,
  _ body: (PostgresClient) async throws -> T
) async throws -> T {
  if let kept, !BenchSchemaName.valid(kept) {
    throw ValidationError("--history-schema: \(BenchSchemaName.rule)")
  }
  let schema = kept ?? "bench_\(UUID().uuidString.prefix(8).lowercased())"
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
    _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)")).collect()
    do {
      let result = try await body(client)
      if kept == nil {
        _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE")).collect()
      }
      return result
    } catch {
      if kept == nil {
        _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE")).collect()
      }
      throw error
    }
  }
}

/// A kept schema's name goes into SQL as an identifier: lower-case letters, digits and `_` only.
enum BenchSchemaName {
  static let rule = "a schema name of 1 to 40 lower-case letters, digits or _, starting with a letter"

  static func valid(_ name: String) -> Bool {
    guard let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first), name.utf8.count <= 40
    else { return false }
    return name.utf8.allSatisfy {
      (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        || $0 == UInt8(ascii: "_")
    }
  }
}
