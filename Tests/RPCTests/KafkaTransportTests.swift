import CRMContracts
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import GRPCProtobuf
import Testing

/// gRPC over Kafka against the real local broker.
@Suite("Kafka transport for gRPC")
struct KafkaTransportTests {
  @Test func roundTripCarriesMessageAndCallerIdentity() async throws {
    let service = ScriptedDiagnostics(replica: "a")
    try await RPCHarness().run(replicas: [[service]], caller: "manager:manager-42") { diagnostics, _ in
      var request = echo("привет, hello")
      request.payload = Data([0, 1, 2, 255])
      let reply = try await diagnostics.echo(request)
      #expect(reply.text == "привет, hello")
      #expect(reply.payload == Data([0, 1, 2, 255]))
      #expect(reply.servedBy == "a")
      #expect(reply.caller == "manager:manager-42")
    }
  }

  @Test func everyStatusCodeAndMessageTravelsBackIntact() async throws {
    let service = ScriptedDiagnostics(replica: "a")
    try await RPCHarness().run(replicas: [[service]]) { diagnostics, _ in
      for raw in 1...16 {
        let code = try #require(Status.Code(rawValue: raw).flatMap(RPCError.Code.init))
        let message = "code \(raw): поле name пустое"
        await #expect {
          _ = try await diagnostics.echo(echo("fail:\(raw):\(message)"))
        } throws: { error in
          guard let error = error as? RPCError else { return false }
          return error.code == code && error.message == message
        }
      }
    }
  }

  @Test func unknownMethodIsUnimplemented() async throws {
    let service = ScriptedDiagnostics(replica: "a")
    try await RPCHarness().run(replicas: [[service]]) { _, client in
      await #expect {
        try await client.unary(
          request: ClientRequest(message: echo("x")),
          descriptor: MethodDescriptor(fullyQualifiedService: "crm.test.v1.Nothing", method: "Missing"),
          serializer: ProtobufSerializer<Crm_Common_V1_EchoRequest>(),
          deserializer: ProtobufDeserializer<Crm_Common_V1_EchoReply>(),
          options: .defaults
        ) { try $0.message }
      } throws: { error in
        (error as? RPCError)?.code == .unimplemented
      }
    }
  }

  @Test func slowHandlerGivesDeadlineExceededAtTheDeadline() async throws {
    let service = ScriptedDiagnostics(replica: "a")
    try await RPCHarness().run(replicas: [[service]]) { diagnostics, _ in
      // A first call warms up the producer and the reply consumer, so the clock below measures
      // only the deadline, not the transport's start on a busy CI machine.
      _ = try await diagnostics.echo(echo("warm-up"))
      let started = ContinuousClock.now
      await #expect {
        _ = try await diagnostics.echo(echo("slow", delay: 5000), options: options(timeout: .milliseconds(400)))
      } throws: { error in
        (error as? RPCError)?.code == .deadlineExceeded
      }
      // Well before the handler's 5 s: the caller gave up at its deadline, not at the reply.
      #expect(ContinuousClock.now - started < .seconds(3))
    }
  }

  @Test func requestThatExpiredBeforeAnyServerReadItIsNotExecuted() async throws {
    let harness = RPCHarness()
    let admin = try KafkaAdmin(configuration: RPCHarness.kafka, logger: RPCHarness.logger)
    try await admin.createTopics([RPCTopics.requests(service: harness.service)], partitions: 4)
    // No server yet: the call waits in the topic until its deadline passes.
    let client = GRPCClient(transport: harness.clientTransport())
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: client)
      await #expect {
        _ = try await diagnostics.echo(echo("too-late"), options: options(timeout: .milliseconds(300)))
      } throws: { error in
        (error as? RPCError)?.code == .deadlineExceeded
      }
      client.beginGracefulShutdown()
      try await group.waitForAll()
    }
    // Now a server comes, reads the stale request, and must not run it.
    let service = ScriptedDiagnostics(replica: "late")
    try await harness.run(replicas: [[service]]) { diagnostics, _ in
      _ = try await diagnostics.echo(echo("fresh"))  // the stale record lies before this one
      #expect(service.count("fresh") == 1)
      #expect(service.count("too-late") == 0)
    }
  }

  @Test func twoReplicasInOneGroupBothServeAndEachCallIsAnsweredOnce() async throws {
    let replicas = [ScriptedDiagnostics(replica: "r0"), ScriptedDiagnostics(replica: "r1")]
    try await RPCHarness().run(replicas: [[replicas[0]], [replicas[1]]]) { diagnostics, _ in
      var servedBy: [String: Int] = [:]
      var sent = 0
      // Rebalancing after the second member joins takes a few seconds; keep calling until both served.
      try await waitUntil("both replicas served", within: .seconds(60)) {
        try await withThrowingTaskGroup(of: String.self) { group in
          for _ in 0..<50 {
            sent += 1
            let text = "call-\(sent)"
            group.addTask { try await diagnostics.echo(echo(text)).servedBy }
          }
          for try await replica in group { servedBy[replica, default: 0] += 1 }
        }
        return servedBy.count == 2
      }
      #expect(servedBy["r0", default: 0] > 0 && servedBy["r1", default: 0] > 0)
      #expect(servedBy.values.reduce(0, +) == sent)
      #expect(replicas[0].total + replicas[1].total == sent)
    }
  }

  @Test func thousandConcurrentCallsAreEachAnsweredExactlyOnce() async throws {
    let service = ScriptedDiagnostics(replica: "a")
    try await RPCHarness().run(replicas: [[service]]) { diagnostics, _ in
      let replies = try await withThrowingTaskGroup(of: (String, String).self) { group in
        for i in 0..<1000 {
          group.addTask {
            let text = "call-\(i)"
            return (text, try await diagnostics.echo(echo(text)).text)
          }
        }
        var replies: [(String, String)] = []
        for try await reply in group { replies.append(reply) }
        return replies
      }
      #expect(replies.count == 1000)
      #expect(replies.allSatisfy { $0.0 == $0.1 })
      #expect(Set(replies.map(\.1)).count == 1000)
      #expect(service.total == 1000)
      #expect((0..<1000).allSatisfy { service.count("call-\($0)") == 1 })
    }
  }

  @Test func malformedRequestIsDeadLetteredAndTheServerGoesOn() async throws {
    let harness = RPCHarness()
    let service = ScriptedDiagnostics(replica: "a")
    try await harness.run(replicas: [[service]]) { diagnostics, _ in
      let producer = try KafkaProducer(configuration: RPCHarness.kafka, logger: RPCHarness.logger)
      let topic = RPCTopics.requests(service: harness.service)
      _ = try await producer.send(KafkaProducerMessage(topic: topic, value: Array("no headers at all".utf8)))
      _ = try await producer.send(
        KafkaProducerMessage(
          topic: topic,
          value: [0, 0, 0, 9, 1],  // claims 9 bytes, has 1
          headers: [
            KafkaHeader(key: "crm-rpc-method", string: "crm.common.v1.Diagnostics/Echo"),
            KafkaHeader(key: "crm-rpc-correlation-id", string: "c1"),
            KafkaHeader(key: "crm-rpc-reply-to", string: "crm.rpc.reply.nobody"),
            KafkaHeader(key: "crm-rpc-deadline", string: "\(Int64(Date().timeIntervalSince1970 * 1000) + 60_000)"),
          ]
        )
      )
      await producer.shutdown()
      #expect(try await diagnostics.echo(echo("after")).text == "after")

      let deadLetters = try await KafkaConsumer(
        configuration: RPCHarness.kafka,
        subscription: .partitions([(RPCTopics.deadLetters(service: harness.service), 0, .beginning)]),
        fetchWait: .milliseconds(10),
        logger: RPCHarness.logger
      )
      var records: [KafkaConsumerMessage] = []
      try await waitUntil("two dead letters") {
        records += try await deadLetters.poll(timeout: .milliseconds(200))
        return records.count >= 2
      }
      await deadLetters.close()
      let errors = records.compactMap { $0.headers.string("crm-dlq-error") }
      #expect(errors.contains { $0.contains("missing header crm-rpc-method") })
      #expect(errors.contains { $0.contains("length-prefixed") })
      #expect(records.allSatisfy { $0.headers.string("crm-dlq-origin")?.hasPrefix(topic + "/") == true })
      #expect(service.total == 1)
    }
  }

  @Test func callerWithoutABrokerGetsUnavailable() async throws {
    let closedPort = ClosedPort()
    let unreachable = KafkaConfiguration(bootstrapServers: [closedPort.address], clientID: "nobody")
    let client = GRPCClient(
      transport: KafkaClientTransport(
        configuration: .init(kafka: unreachable, service: "nobody"), logger: RPCHarness.logger)
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try? await client.runConnections() }
      await #expect {
        _ = try await Crm_Common_V1_Diagnostics.Client(wrapping: client).echo(echo("x"))
      } throws: { error in
        (error as? RPCError)?.code == .unavailable
      }
      client.beginGracefulShutdown()
      try await group.waitForAll()
    }
  }
}
