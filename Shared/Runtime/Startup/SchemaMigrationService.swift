import CRMDatabase
import Logging
import PostgresNIO
import ServiceLifecycle

/// Brings the service's database schema up to date at start, then opens the gate. While
/// PostgreSQL is unreachable it retries (the service stays up, not ready); a migration that
/// fails stops the service. With a migration role (`migrator`), the migrations run on a client
/// of that role only while migrating, and the runtime role is then granted table access.
struct SchemaMigrationService: Service {
  let client: PostgresClient
  let migrations: [Migration]
  let gate: SchemaGate
  let logger: Logger
  var migrator: (configuration: PostgresClient.Configuration, runtimeRole: String)? = nil

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown { try await migrate() }
    } catch is CancellationError {
      return  // stopped while waiting for PostgreSQL
    }
    try await gracefulShutdown()
  }

  private func migrate() async throws {
    var backoff = Duration.milliseconds(200)
    while true {
      do {
        let applied = try await applyMigrations()
        logger.info("database schema current", metadata: ["applied_now": "\(applied)"])
        gate.open()
        break
      } catch let failure as MigrationRunner.Failure {
        gate.fail(failure.description)
        throw failure
      } catch {
        try Task.checkCancellation()
        logger.warning("database migrations wait for PostgreSQL: \(error); retrying in \(backoff)")
        try await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(5))
      }
    }
  }
}

extension SchemaMigrationService {
  /// The migrations, as the migration role when there is one (then the runtime role's grants).
  func applyMigrations() async throws -> [Int] {
    guard let migrator else { return try await MigrationRunner.apply(migrations, on: client, logger: logger) }
    let owner = PostgresClient(configuration: migrator.configuration, backgroundLogger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await owner.run() }
      defer { group.cancelAll() }
      let applied = try await MigrationRunner.apply(migrations, on: owner, logger: logger)
      try await MigrationRunner.grantRuntimeAccess(to: migrator.runtimeRole, on: owner, logger: logger)
      return applied
    }
  }
}

/// A service that starts once the schema is current.
struct AfterSchema: Service {
  let gate: SchemaGate
  let service: any Service

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown { try await gate.wait() }
    } catch is CancellationError {
      return  // stopped before the schema was ready: nothing to run
    }
    try await service.run()
  }
}
