import CRMContracts
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import Testing

/// A create-like request whose server dies between its database commit and its offset commit is
/// delivered again to the restarted server: it answers the first result, and exactly one card and
/// one event exist (DESIGN §5, idempotent creates).
@Suite("Idempotent creates across a crash")
struct CrashIdempotencyTests {
  static let logger = Logger(label: "crash-idempotency-test")

  @Test func aCreateRedeliveredAfterSIGKILLBetweenCommitsCreatesOneCardAndOneEvent() async throws {
    try await TestSchema.with(database: "contacts") { makeClient, schema in
      let broker = try await PrivateBroker()
      let marker = FileManager.default.temporaryDirectory.appendingPathComponent("crm-crash-\(UUID().uuidString)").path
      defer { try? FileManager.default.removeItem(atPath: marker) }
      let crash = ["CRM_TEST_CRASH_AFTER": "CreateContact:\(marker)"]
      let first = try await ServiceProcess.start(
        "contacts", brokers: broker.brokers, schema: schema, environment: crash)
      defer { first.signal(SIGKILL) }

      let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "crash-idempotency-test")
      let client = TestIdentity.kafkaClient(kafka, service: "contacts", as: "manager:manager-5", logger: Self.logger)
      let name = "Крэш Тестович \(UUID().uuidString.prefix(6))"
      try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.runConnections() }
        defer { client.beginGracefulShutdown() }
        let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: client)
        var options = CallOptions.defaults
        options.timeout = .seconds(90)
        let call = Task {
          try await contacts.createContact(
            .with {
              $0.name = name
              $0.ownerID = "manager-5"
            }, options: options)
        }
        // The server commits the card and its event, then dies before replying or committing the offset.
        let status = try await first.waitForExit(within: .seconds(30))
        #expect(status == SIGKILL, "the server was killed after the handler")
        #expect(first.process.terminationReason == .uncaughtSignal)
        #expect(FileManager.default.fileExists(atPath: marker))

        let restarted = try await ServiceProcess.start(
          "contacts", brokers: broker.brokers, schema: schema, environment: crash)
        defer { restarted.signal(SIGKILL) }
        let created = try await call.value
        #expect(created.name == name)

        let database = makeClient()
        try await whileRunning(database) {
          #expect(try await database.count("SELECT count(*)::int FROM contacts WHERE name = \(name)") == 1)
          let events = try await database.outboxEvents("crm.contacts.v1.ContactCreated")
          #expect(events.filter { $0.aggregateID == created.id }.count == 1)
          #expect(events.count == 1)
          #expect(try await database.count("SELECT count(*)::int FROM request_replies") == 1)
        }
      }
    }
  }
}
