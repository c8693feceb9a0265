import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// An inbox consumer process SIGKILLed between its database commit and its offset commit.
@Suite("Inbox consumer killed mid-batch")
struct InboxCrashTests {
  let logger = Logger(label: "inbox-crash-test")
  let kafka = KafkaConfiguration(bootstrapServers: [LocalStack.kafkaBrokers], clientID: "inbox-crash-test")

  func event(_ id: String, amount: Int32) throws -> [UInt8] {
    var envelope = Crm_Events_V1_EventEnvelope()
    envelope.eventID = id
    envelope.type = Crm_Common_V1_EchoRequest.protoMessageName
    envelope.aggregateID = "total"
    envelope.payload = try Crm_Common_V1_EchoRequest.with { $0.delayMs = amount }.serializedData()
    return Array(try envelope.serializedData())
  }

  @Test func redeliveredEventsAfterTheKillChangeNothing() async throws {
    let suffix = UUID().uuidString.prefix(8).lowercased()
    let topic = "test.inbox-crash.\(suffix)"
    let name = "crash-\(suffix)"
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    try await admin.createTopics([topic], partitions: 1)
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    let first = (1...5).map { "first-\($0)" }
    _ = try await producer.send(
      batch: try first.enumerated().map { index, id in
        KafkaProducerMessage(topic: topic, value: try event(id, amount: 1 << Int32(index)))
      }
    )

    try await TestSchema.with(database: "reporting") { makeClient, schemaName in
      let client = makeClient()
      try await whileRunning(client) {
        let schema =
          InboxConsumer.migrations + [
            Migration(
              version: 1,
              name: "sums",
              statements: [
                "CREATE TABLE applied (event_id text NOT NULL, amount bigint NOT NULL)",
                "CREATE TABLE totals (total bigint NOT NULL)",
                "INSERT INTO totals VALUES (0)",
              ]
            )
          ]
        try await MigrationRunner.apply(schema, on: client, logger: logger)
        func worker(killAfterApplied: Int?) throws -> ChildProcess {
          try ChildProcess(
            LocalStack.binDirectory.appendingPathComponent("crm-inbox-worker"),
            arguments: [
              "--database", LocalStack.databaseURL("reporting") + "&search_path=\(schemaName)",
              "--brokers", LocalStack.kafkaBrokers, "--topic", topic, "--name", name,
            ] + (killAfterApplied.map { ["--kill-after-applied", "\($0)"] } ?? []),
            environment: [:]
          )
        }

        // First life: applies the events, commits the transaction, dies before the offset commit.
        let doomed = try worker(killAfterApplied: 1)
        let status = try await doomed.waitForExit(within: .seconds(60))
        try #require(status == SIGKILL, "the worker did not kill itself: \(doomed.standardError)")
        #expect(doomed.process.terminationReason == .uncaughtSignal)
        let appliedBeforeKill = doomed.standardOutput.split(separator: "\n").filter { $0.hasPrefix("applied ") }
          .map { String($0.dropFirst("applied ".count)) }
        try #require(!appliedBeforeKill.isEmpty)
        let totalBeforeKill = try await values(client, "SELECT total FROM totals", as: Int64.self)
        let rowsBeforeKill = try await values(client, "SELECT event_id FROM applied ORDER BY event_id", as: String.self)
        #expect(rowsBeforeKill == appliedBeforeKill.sorted(), "committed exactly what it reported")

        // Second life: the same group gets the uncommitted records again and skips them; a new
        // event after the restart is applied.
        let restarted = try worker(killAfterApplied: nil)
        defer { restarted.signal(SIGKILL) }
        _ = try await producer.send(KafkaProducerMessage(topic: topic, value: try event("after-restart", amount: 32)))
        let deadline = ContinuousClock.now + .seconds(60)
        while try await values(client, "SELECT total FROM totals", as: Int64.self) != [63] {
          try #require(ContinuousClock.now < deadline, "not applied in time: \(restarted.standardError)")
          try await Task.sleep(for: .milliseconds(100))
        }
        restarted.signal(SIGTERM)
        #expect(try await restarted.waitForExit(within: .seconds(20)) == 0)

        let output = restarted.standardOutput.split(separator: "\n").map(String.init)
        let redelivered = output.filter { $0.hasPrefix("duplicate ") }.map { String($0.dropFirst("duplicate ".count)) }
        #expect(Set(redelivered).isSuperset(of: appliedBeforeKill), "every event applied before the kill came again")
        #expect(output.filter { $0.hasPrefix("applied ") }.count == 5 - appliedBeforeKill.count + 1)
        #expect(try await values(client, "SELECT total FROM totals", as: Int64.self) == [63])
        #expect(try await values(client, "SELECT count(*) FROM applied", as: Int.self) == [6])
        #expect(
          try await values(client, "SELECT count(DISTINCT event_id) FROM applied", as: Int.self) == [6],
          "no event applied twice"
        )
        #expect(try await values(client, "SELECT count(*) FROM inbox", as: Int.self) == [6])
        print(
          "kill: \(appliedBeforeKill.count) applied before the kill, total \(totalBeforeKill); redelivered \(redelivered.count)"
        )
      }
    }
    await producer.shutdown()
    try await admin.deleteTopics([topic, "crm.dlq.\(name)"])
  }
}
