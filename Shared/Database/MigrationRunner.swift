import Logging
import PostgresNIO

/// Applies a service's migrations at start. Replicas starting together serialise on a
/// PostgreSQL advisory lock, so each migration is applied exactly once.
public enum MigrationRunner {
  public struct Failure: Error, CustomStringConvertible {
    public var migration: Migration
    public var underlying: any Error
    public var description: String {
      "migration \(migration.version) (\(migration.name)) failed: \(String(reflecting: underlying))"
    }
  }

  /// Any fixed number works; it only has to be the same for every replica of a service. Mixed
  /// with the schema's name: advisory locks are per database, and services of separate schemas
  /// (tests run many at once) need not wait for each other.
  static let lockKey: Int64 = 0x4352_4D5F_4D49_4752  // "CRM_MIGR"

  /// Applies the migrations not applied yet, in version order; returns the versions applied now.
  @discardableResult
  public static func apply(_ migrations: [Migration], on client: PostgresClient, logger: Logger) async throws -> [Int] {
    precondition(Set(migrations.map(\.version)).count == migrations.count, "two migrations share a version")
    return try await client.withConnection { connection in
      _ = try await connection.query(
        "SELECT pg_advisory_lock(\(lockKey) # hashtext(current_schema())::bigint)", logger: logger
      ).collect()
      do {
        let applied = try await apply(migrations, on: connection, logger: logger)
        _ = try await connection.query(
          "SELECT pg_advisory_unlock(\(lockKey) # hashtext(current_schema())::bigint)", logger: logger
        ).collect()
        return applied
      } catch {
        _ = try? await connection.query(
          "SELECT pg_advisory_unlock(\(lockKey) # hashtext(current_schema())::bigint)", logger: logger
        ).collect()
        throw error
      }
    }
  }

  /// Lets `role` (the service's runtime role) read and write the tables and sequences of the
  /// current schema, and nothing more: it owns nothing, so it can run no DDL. Run by the
  /// migration role after migrating, at every start (grants are idempotent). The statements are
  /// built by PostgreSQL's `format` (`%I` quotes identifiers), never by concatenation.
  public static func grantRuntimeAccess(to role: String, on client: PostgresClient, logger: Logger) async throws {
    try await client.withConnection { connection in
      let statements = try await connection.query(
        """
        SELECT unnest(ARRAY[
          format('GRANT USAGE ON SCHEMA %I TO %I', current_schema(), \(role)::text),
          format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO %I', current_schema(), \(role)::text),
          format('GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA %I TO %I', current_schema(), \(role)::text)
        ])
        """,
        logger: logger
      ).collect()
      for row in statements {
        let statement = try row.decode(String.self)
        _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
      }
    }
  }

  private static func apply(_ migrations: [Migration], on connection: PostgresConnection, logger: Logger) async throws
    -> [Int]
  {
    _ = try await connection.query(
      """
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )
      """,
      logger: logger
    ).collect()
    var done = Set<Int>()
    for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger)
      .decode(Int.self)
    {
      done.insert(version)
    }
    var applied: [Int] = []
    for migration in migrations.sorted(by: { $0.version < $1.version }) where !done.contains(migration.version) {
      do {
        try await connection.withTransaction(logger: logger) { transaction in
          for statement in migration.statements {
            _ = try await transaction.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
          }
          _ = try await transaction.query(
            "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
            logger: logger
          ).collect()
        }
      } catch {
        throw Failure(migration: migration, underlying: transactionCause(of: error))
      }
      logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
      applied.append(migration.version)
    }
    return applied
  }
}
