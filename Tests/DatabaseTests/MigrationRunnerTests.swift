import CRMDatabase
import CRMDomain
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// Migrations and optimistic concurrency against the real local PostgreSQL, each test in a
/// schema of its own inside the activity service's database.
@Suite("Database kit")
struct MigrationRunnerTests {
  let logger = Logger(label: "database-test")

  let migrations = [
    Migration(version: 1, name: "counter", statements: ["CREATE TABLE counter (n integer NOT NULL)"]),
    Migration(version: 2, name: "first row", statements: ["INSERT INTO counter VALUES (1)"]),
    Migration(
      version: 3,
      name: "cards",
      statements: [
        "CREATE TABLE card (id text PRIMARY KEY, name text NOT NULL, version bigint NOT NULL DEFAULT 1)",
        "INSERT INTO card (id, name) VALUES ('c1', 'Ivan')",
      ]
    ),
  ]

  @Test func twoRunnersStartingTogetherApplyEachMigrationOnce() async throws {
    try await TestSchema.with(database: "activity") { makeClient in
      let first = makeClient()
      let second = makeClient()
      // A PostgresClient runs once: everything happens while both run.
      try await whileRunning(first) {
        try await whileRunning(second) {
          async let a = MigrationRunner.apply(migrations, on: first, logger: logger)
          async let b = MigrationRunner.apply(migrations, on: second, logger: logger)
          let results = try await [a, b]
          #expect(results.contains([1, 2, 3]) && results.contains([]))
          let counted = try await values(first, "SELECT count(*) FROM counter", as: Int.self)
          #expect(counted == [1])
          let recorded = try await values(first, "SELECT version FROM schema_migrations ORDER BY version", as: Int.self)
          #expect(recorded == [1, 2, 3])
          // A later start applies nothing.
          #expect(try await MigrationRunner.apply(migrations, on: first, logger: logger) == [])
        }
      }
    }
  }

  @Test func aFailingMigrationLeavesNothingOfItselfAndNamesItself() async throws {
    try await TestSchema.with(database: "activity") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        let broken =
          migrations + [
            Migration(
              version: 4,
              name: "half done",
              statements: ["CREATE TABLE half (id integer)", "INSERT INTO no_such_table VALUES (1)"]
            )
          ]
        await #expect {
          try await MigrationRunner.apply(broken, on: client, logger: logger)
        } throws: { error in
          guard let failure = error as? MigrationRunner.Failure else { return false }
          return failure.migration.version == 4 && failure.description.contains("half done")
        }
        let tables = try await values(client, "SELECT to_regclass('half')::text", as: String?.self)
        #expect(tables == [nil])
        let recorded = try await values(client, "SELECT max(version) FROM schema_migrations", as: Int?.self)
        #expect(recorded == [3])
      }
    }
  }

  @Test func staleVersionIsAConflictNamingTheCurrentOne() async throws {
    try await TestSchema.with(database: "activity") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(migrations, on: client, logger: logger)
        func rename(to name: String, expected: Int64) async throws {
          let rows = try await client.query(
            "UPDATE card SET name = \(name), version = version + 1 WHERE id = 'c1' AND version = \(expected) RETURNING 1"
          ).collect()
          try await VersionConflict.check(updatedRows: rows.count, entity: "card", id: "c1", expected: expected) {
            try await values(client, "SELECT version FROM card WHERE id = 'c1'", as: Int64.self).first
          }
        }
        try await rename(to: "Ivan Petrov", expected: 1)
        await #expect(throws: VersionConflict(entity: "card", id: "c1", expected: 1, current: 2)) {
          try await rename(to: "Stale", expected: 1)
        }
        let names = try await values(client, "SELECT name FROM card", as: String.self)
        #expect(names == ["Ivan Petrov"])
        await #expect(throws: NotFound(entity: "card", id: "c9")) {
          try await VersionConflict.check(updatedRows: 0, entity: "card", id: "c9", expected: 1) { nil }
        }
      }
    }
  }
}
