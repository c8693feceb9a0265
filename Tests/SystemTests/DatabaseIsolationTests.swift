import CRMTestSupport
import Logging
import PostgresNIO
import Testing

/// Each service's role reaches its own database only; quality control above all.
@Suite("Database isolation")
struct DatabaseIsolationTests {
  static let services = ["contacts", "deals", "activity", "quality-control", "reporting"]

  /// Connects with `role`'s service credentials to the database `database` and runs a query.
  /// A single connection, not a pool: a refused connection fails at once with the server's error.
  func query(as role: String, database: String, _ sql: PostgresQuery) async throws -> [PostgresRow] {
    let name = LocalStack.databaseName(role)
    let configuration = PostgresConnection.Configuration(
      host: "127.0.0.1",
      port: LocalStack.postgresPort,
      username: name,
      password: "\(name)_local",
      database: database,
      tls: .disable
    )
    let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: Self.logger)
    do {
      let rows = try await connection.query(sql, logger: Self.logger).collect()
      try await connection.close()
      return rows
    } catch {
      try? await connection.close()
      throw error
    }
  }

  static let logger = Logger(label: "database-isolation-test")

  func isPermissionDenied(_ error: any Error) -> Bool {
    (error as? PSQLError)?.serverInfo?[.sqlState] == "42501"
  }

  @Test func qualityControlCannotSelectFromAnotherServiceDatabase() async throws {
    // A real table with a person's name in the contacts database.
    let contacts = LocalStack.databaseName("contacts")
    _ = try await query(as: "contacts", database: contacts, "CREATE TABLE IF NOT EXISTS isolation_probe (name text)")
    _ = try await query(as: "contacts", database: contacts, "INSERT INTO isolation_probe VALUES ('Ivan Petrov')")
    #expect(
      try await query(as: "contacts", database: LocalStack.databaseName("contacts"), "SELECT name FROM isolation_probe")
        .count >= 1)

    for other in Self.services where other != "quality-control" {
      await #expect(
        performing: {
          _ = try await query(as: "quality-control", database: LocalStack.databaseName(other), "SELECT 1")
        }, throws: { isPermissionDenied($0) })
    }
    // Not through the maintenance database either.
    await #expect(
      performing: {
        _ = try await query(as: "quality-control", database: "postgres", "SELECT 1")
      }, throws: { isPermissionDenied($0) })
    #expect(
      try await query(as: "quality-control", database: LocalStack.databaseName("quality-control"), "SELECT 1").count
        == 1)
  }

  @Test(arguments: services)
  func everyRoleReachesOnlyItsOwnDatabase(_ role: String) async throws {
    #expect(try await query(as: role, database: LocalStack.databaseName(role), "SELECT current_user").count == 1)
    for other in Self.services where other != role {
      await #expect(
        performing: { _ = try await query(as: role, database: LocalStack.databaseName(other), "SELECT 1") },
        throws: { isPermissionDenied($0) })
    }
  }
}
