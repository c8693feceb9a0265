import CRMContracts
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// Issue 11: one hostile request record must not kill a service, and (since its offset would
/// then never be committed) every restart after it.
@Suite("Poison request records")
struct PoisonRecordTests {
  @Test func deadlineOfInt64MinIsDeadLetteredAndTheServiceGoesOn() async throws {
    let broker = try await PrivateBroker()
    let service = "activity"
    let server = try await ServiceProcess.start(service, brokers: broker.brokers)
    defer { server.signal(SIGKILL) }
    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "poison-test")
    let logger = Logger(label: "poison-test")

    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    _ = try await producer.send(
      KafkaProducerMessage(
        topic: RPCTopics.requests(service: service),
        value: RPCWire.frame([try Crm_Common_V1_EchoRequest.with { $0.text = "poison" }.serializedBytes() as [UInt8]]),
        headers: [
          KafkaHeader(key: "crm-rpc-method", string: "crm.common.v1.Diagnostics/Echo"),
          KafkaHeader(key: "crm-rpc-correlation-id", string: "poison-1"),
          KafkaHeader(key: "crm-rpc-reply-to", string: "crm.rpc.reply.poison-test"),
          KafkaHeader(key: "crm-rpc-deadline", string: "-9223372036854775808"),
        ]
      )
    )
    await producer.shutdown()

    // The record is in the dead-letter topic with its reason…
    let deadLetters = try await KafkaConsumer(
      configuration: kafka,
      subscription: .partitions([(RPCTopics.deadLetters(service: service), 0, .beginning)]),
      fetchWait: .milliseconds(10),
      logger: logger
    )
    var records: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + .seconds(20)
    while records.isEmpty && ContinuousClock.now < deadline {
      records += (try? await deadLetters.poll(timeout: .milliseconds(200))) ?? []
    }
    await deadLetters.close()
    #expect(records.count == 1, "dead letters: \(records.count); stderr: \(server.standardError)")
    let reason = records.first?.headers.string("crm-dlq-error") ?? ""
    #expect(reason.contains("crm-rpc-deadline"), "reason: \(reason)")
    #expect(records.first?.headers.string("crm-rpc-correlation-id") == "poison-1")

    // …the process is alive and ready, and a normal call after the record is answered.
    #expect(server.process.isRunning, "the service died: \(server.standardError)")
    let client = TestIdentity.kafkaClient(kafka, service: service, as: "operator:poison-test", logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      defer { client.beginGracefulShutdown() }
      let reply = try await Crm_Common_V1_Diagnostics.Client(wrapping: client).echo(.with { $0.text = "after" })
      #expect(reply.text == "after")
      #expect(reply.servedBy == service)
    }
    #expect(server.process.isRunning, "the service died: \(server.standardError)")
  }
}
