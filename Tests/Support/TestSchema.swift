import CRMDatabase
import Foundation
import Logging
import PostgresNIO

/// Database tests in a schema of their own inside a service's database, dropped afterwards.
public enum TestSchema {
  static let logger = Logger(label: "test-schema")

  /// Calls `body` with a factory of clients whose tables land in a fresh schema, their sessions
  /// set up with `sessionSettings` (a service's own, as its executable would).
  public static func with(
    database service: String,
    sessionSettings: [String: String] = [:],
    _ body: (_ makeClient: () -> PostgresClient) async throws -> Void
  ) async throws {
    try await with(database: service, sessionSettings: sessionSettings) { makeClient, _ in
      try await body(makeClient)
    }
  }

  /// The same, also naming the schema (for a process started with `…&search_path=<schema>`).
  public static func with(
    database service: String,
    sessionSettings: [String: String] = [:],
    _ body: (_ makeClient: @escaping @Sendable () -> PostgresClient, _ schema: String) async throws -> Void
  ) async throws {
    let schema = "test_\(UUID().uuidString.prefix(8).lowercased())"
    let base = try DatabaseURL.parse(LocalStack.databaseURL(service))
    let admin = PostgresClient(configuration: base, backgroundLogger: logger)
    try await whileRunning(admin) {
      _ = try await admin.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)")).collect()
      do {
        try await body(
          {
            var configuration = base
            configuration.apply(sessionSettings: sessionSettings)
            configuration.apply(sessionSettings: ["search_path": schema])
            return PostgresClient(configuration: configuration, backgroundLogger: logger)
          }, schema)
      } catch {
        _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE")).collect()
        throw error
      }
      _ = try await admin.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \(schema) CASCADE")).collect()
    }
  }
}

/// Runs `body` while `client` runs (a PostgresClient runs once: do everything inside).
public func whileRunning<T: Sendable>(_ client: PostgresClient, _ body: () async throws -> T) async throws -> T {
  try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { await client.run() }
    defer { group.cancelAll() }
    return try await body()
  }
}

/// The single column of every row of `query`.
public func values<T: PostgresDecodable & Sendable>(
  _ client: PostgresClient,
  _ query: PostgresQuery,
  as type: T.Type
) async throws -> [T] {
  var values: [T] = []
  for try await value in try await client.query(query).decode(T.self) { values.append(value) }
  return values
}
