import CRMContracts
import CRMDatabase
import CRMKafka
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import Testing

/// Issue 13: a service runs as a role that owns nothing and cannot run DDL; a separate role
/// applies its migrations and grants the runtime role its tables (as `deploy/local/run` and
/// the compose file start them).
@Suite("Database roles: runtime and migrations")
struct DatabaseRolesTests {
  static let logger = Logger(label: "database-roles-test")

  @Test func theRuntimeRoleReadsAndWritesButRunsNoDDL() async throws {
    try await TestSchema.with(database: "contacts") { _, schema in
      let broker = try await PrivateBroker()
      let contacts = try await ServiceProcess.start(
        "contacts", brokers: broker.brokers, schema: schema,
        environment: [
          "CRM_DATABASE_URL": LocalStack.runtimeDatabaseURL("contacts") + "&search_path=\(schema)",
          "CRM_MIGRATION_DATABASE_URL": LocalStack.databaseURL("contacts") + "&search_path=\(schema)",
        ])
      defer { contacts.signal(SIGKILL) }

      // The service works as the runtime role: a card is written, its event queued.
      let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "database-roles-test")
      let client = TestIdentity.kafkaClient(kafka, service: "contacts", as: "operator:roles", logger: Self.logger)
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.runConnections() }
        defer { client.beginGracefulShutdown() }
        let created = try await Crm_Contacts_V1_Contacts.Client(wrapping: client).createContact(
          .with {
            $0.name = "Роль Тестовна"
            $0.ownerID = "m-1"
          })
        #expect(created.version == 1)
      }

      // The same role, as any process holding its password would use it.
      var configuration = try DatabaseURL.parse(LocalStack.runtimeDatabaseURL("contacts"))
      configuration.apply(sessionSettings: ["search_path": schema])
      let runtime = PostgresClient(configuration: configuration, backgroundLogger: Self.logger)
      try await whileRunning(runtime) { () async throws in
        #expect(try await values(runtime, "SELECT count(*)::int FROM contacts", as: Int.self) == [1])
        for ddl in [
          "CREATE TABLE stray (a int)", "DROP TABLE contacts", "ALTER TABLE contacts ADD COLUMN stray int",
          "TRUNCATE contacts", "CREATE SCHEMA stray", "CREATE TEMP TABLE stray (a int)",
        ] {
          await #expect(throws: PSQLError.self, "\(ddl)") {
            _ = try await runtime.query(PostgresQuery(unsafeSQL: ddl)).collect()
          }
        }
        #expect(try await values(runtime, "SELECT count(*)::int FROM contacts", as: Int.self) == [1])
      }
    }
  }
}
