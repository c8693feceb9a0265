import CRMContracts
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// RPC against service executables, as deployed: real processes on a broker of the test's own.
@Suite("RPC to service processes")
struct RPCProcessTests {
  @Test func callerGetsDeadlineExceededWhenTheServerIsKilledMidCall() async throws {
    let broker = try await PrivateBroker()
    let server = try await ServiceProcess.start("contacts", brokers: broker.brokers)

    let client = TestIdentity.kafkaClient(
      KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "kill-test"), service: "contacts",
      as: "operator:kill-test", logger: Logger(label: "kill-test"))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: client)
      #expect(try await diagnostics.echo(.with { $0.text = "alive" }).servedBy == "contacts")

      var options = CallOptions.defaults
      options.timeout = .seconds(3)
      let started = ContinuousClock.now
      group.addTask {
        try await Task.sleep(for: .seconds(1))
        server.signal(SIGKILL)  // mid-call: the handler sleeps 5 s
      }
      await #expect {
        _ = try await diagnostics.echo(
          .with {
            $0.text = "doomed"
            $0.delayMs = 5000
          }, options: options)
      } throws: { error in
        (error as? RPCError)?.code == .deadlineExceeded
      }
      let elapsed = ContinuousClock.now - started
      #expect(elapsed >= .milliseconds(2900) && elapsed < .seconds(5), "failed after \(elapsed)")
      #expect(try await server.waitForExit(within: .seconds(5)) == SIGKILL)
      client.beginGracefulShutdown()
      try await group.waitForAll()
    }
  }
}

/// The contacts executable end to end: an RPC over the broker writes the card, and its event
/// reaches `crm.contacts.events` exactly once through the outbox relay.
@Suite("Contacts executable")
struct ContactsProcessTests {
  @Test func createdContactIsFoundByPhoneAndItsEventIsPublishedOnce() async throws {
    // A schema of its own: another contacts process of the suite, on another broker, would
    // otherwise share this outbox (and could publish this test's event to its own broker).
    try await TestSchema.with(database: "contacts") { _, schema in
      try await createAndFind(schema: schema)
    }
  }

  func createAndFind(schema: String) async throws {
    let broker = try await PrivateBroker()
    let server = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: schema)
    defer { server.signal(SIGKILL) }

    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "contacts-process-test")
    let client = TestIdentity.kafkaClient(
      kafka, service: "contacts", as: "manager:manager-42", logger: Logger(label: "contacts-process-test"))
    // A number of this run's own: the database outlives test runs.
    let local = String(format: "%07d", Int.random(in: 0..<10_000_000))
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      defer { client.beginGracefulShutdown() }
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: client)
      let created = try await contacts.createContact(
        .with {
          $0.name = "Процесс Тестович"
          $0.phones = [
            .with { $0.number = "8 (999) \(local.prefix(3))-\(local.dropFirst(3).prefix(2))-\(local.suffix(2))" }
          ]
          $0.ownerID = "manager-42"
        })
      #expect(created.phones.map(\.number) == ["+7999\(local)"])
      let found = try await contacts.searchContacts(.with { $0.query = "+7 999 \(local)" })
      #expect(found.hits.map(\.contact.id) == [created.id])

      // Until the event is there; then the whole topic again a second later (3 s of reading from
      // the start): a second copy would be there by then.
      _ = try await records(topic: "crm.contacts.events", kafka: kafka, for: .seconds(20)) {
        $0.contains { $0.envelope.aggregateID == created.id }
      }
      try await Task.sleep(for: .seconds(1))
      let mine = try await records(topic: "crm.contacts.events", kafka: kafka, for: .seconds(3))
        .map(\.envelope).filter { $0.aggregateID == created.id }
      #expect(mine.map(\.type) == ["crm.contacts.v1.ContactCreated"])
      #expect(mine.first?.actor == "manager:manager-42")
    }
  }
}
