import CRMContracts
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// Issue 11 against the real broker: records no well-behaved peer sends, and loads a peer may.
@Suite("Kafka transport under hostile records")
struct HostileRecordTests {
  static func deadLetters(of service: String, count: Int) async throws -> [KafkaConsumerMessage] {
    let consumer = try await KafkaConsumer(
      configuration: RPCHarness.kafka,
      subscription: .partitions([(RPCTopics.deadLetters(service: service), 0, .beginning)]),
      fetchWait: .milliseconds(10),
      logger: RPCHarness.logger
    )
    var records: [KafkaConsumerMessage] = []
    try await waitUntil("\(count) dead letters") {
      records += try await consumer.poll(timeout: .milliseconds(200))
      return records.count >= count
    }
    await consumer.close()
    return records
  }

  @Test func requestWithDeadlineInt64MinIsDeadLetteredAndTheNextCallIsServed() async throws {
    let harness = RPCHarness()
    let service = ScriptedDiagnostics(replica: "a")
    try await harness.run(replicas: [[service]]) { diagnostics, _ in
      let producer = try KafkaProducer(configuration: RPCHarness.kafka, logger: RPCHarness.logger)
      var request = Crm_Common_V1_EchoRequest()
      request.text = "poison"
      for deadline in ["-9223372036854775808", "9223372036854775807", "99999999999999999999"] {
        _ = try await producer.send(
          KafkaProducerMessage(
            topic: RPCTopics.requests(service: harness.service),
            value: RPCWire.frame([try request.serializedBytes()]),
            headers: [
              KafkaHeader(key: RPCWire.method, string: "crm.common.v1.Diagnostics/Echo"),
              KafkaHeader(key: RPCWire.correlationID, string: "poison-\(deadline)"),
              KafkaHeader(key: RPCWire.replyTo, string: "crm.rpc.reply.nobody"),
              KafkaHeader(key: RPCWire.deadline, string: deadline),
            ]
          )
        )
      }
      await producer.shutdown()
      #expect(try await diagnostics.echo(echo("after")).text == "after")
      let letters = try await Self.deadLetters(of: harness.service, count: 3)
      #expect(letters.count == 3)
      #expect(letters.allSatisfy { $0.headers.string(RPCWire.deadLetterError)?.contains(RPCWire.deadline) == true })
      #expect(service.count("poison") == 0)
    }
  }

  @Test func replyAboveTheCapBecomesResourceExhaustedAtOnce() async throws {
    let service = ScriptedDiagnostics(replica: "a")
    try await RPCHarness().run(replicas: [[service]]) { diagnostics, _ in
      // A call whose reply could not travel would end in DEADLINE_EXCEEDED; RESOURCE_EXHAUSTED
      // can only be the server's prompt answer. (No wall-clock bound: CI machines are slow.)
      let error = await #expect(throws: RPCError.self) {
        _ = try await diagnostics.echo(echo("big:950000"), options: options(timeout: .seconds(30)))
      }
      #expect(error?.code == .resourceExhausted)
      #expect(error?.message.contains("900000 bytes") == true, "\(String(describing: error))")
      // Below the cap it still travels.
      let below = try await diagnostics.echo(echo("big:500000"))
      #expect(below.payload.count == 500_000)
    }
  }

  @Test func requestAboveTheCapFailsLocallyWithResourceExhausted() async throws {
    try await RPCHarness().run(replicas: [[ScriptedDiagnostics(replica: "a")]]) { diagnostics, _ in
      var request = echo("large")
      request.payload = Data(count: 950_000)
      let error = await #expect(throws: RPCError.self) { _ = try await diagnostics.echo(request) }
      #expect(error?.code == .resourceExhausted)
    }
  }

  /// One call at a time, each longer than max.poll.interval.ms (6 s): the server must pause
  /// its partitions and keep polling, not stop polling and be thrown out of its group.
  @Test func backPressurePausesAndTheReplicaStaysInItsGroup() async throws {
    var harness = RPCHarness()
    harness.maximumConcurrentCalls = 1
    let service = ScriptedDiagnostics(replica: "a")
    try await harness.run(replicas: [[service]]) { diagnostics, _, servers in
      let lostPartitions = Locked(0)
      let watching = Task {
        while !Task.isCancelled {
          if !servers[0].isServing { lostPartitions.withLock { $0 += 1 } }
          try? await Task.sleep(for: .milliseconds(50))
        }
      }
      defer { watching.cancel() }
      try await withThrowingTaskGroup(of: String.self) { group in
        for i in 0..<2 {
          group.addTask {
            try await diagnostics.echo(echo("slow-\(i)", delay: 7000), options: options(timeout: .seconds(60))).text
          }
        }
        var texts: [String] = []
        for try await text in group { texts.append(text) }
        #expect(Set(texts) == ["slow-0", "slow-1"])
      }
      #expect(service.count("slow-0") == 1)
      #expect(service.count("slow-1") == 1)
      #expect(lostPartitions.withLock { $0 } == 0, "the replica lost its partitions while busy")
    }
  }

  /// A server that is not ours answers with replies that break the format: each call fails at
  /// once with INTERNAL naming what was wrong, and the client goes on.
  @Test func malformedRepliesFailTheCallPreciselyAndTheClientGoesOn() async throws {
    let harness = RPCHarness()
    let admin = try KafkaAdmin(configuration: RPCHarness.kafka, logger: RPCHarness.logger)
    let requestTopic = RPCTopics.requests(service: harness.service)
    try await admin.createTopics([requestTopic], partitions: 1)
    let fakeServer = try await KafkaConsumer(
      configuration: RPCHarness.kafka,
      subscription: .partitions([(requestTopic, 0, .beginning)]),
      fetchWait: .milliseconds(5),
      logger: RPCHarness.logger
    )
    let producer = try KafkaProducer(configuration: RPCHarness.kafka, logger: RPCHarness.logger)
    // What the fake server answers to the nth request, and what the error must name.
    let answers: [([KafkaHeader], [UInt8], String)] = [
      ([KafkaHeader(key: RPCWire.status, string: "99")], [], "crm-rpc-status"),
      ([KafkaHeader(key: RPCWire.status, string: "-9223372036854775808")], [], "crm-rpc-status"),
      ([], [], "missing header crm-rpc-status"),
      (
        [KafkaHeader(key: RPCWire.status, string: "0"), KafkaHeader(key: RPCWire.status, string: "5")], [],
        "more than once"
      ),
      (
        [
          KafkaHeader(key: RPCWire.status, string: "3"),
          KafkaHeader(key: RPCWire.message, string: String(repeating: "m", count: 20_000)),
        ], [], "crm-rpc-message"
      ),
      (
        [KafkaHeader(key: RPCWire.status, string: "0"), KafkaHeader(key: "crm-tr:bad key", string: "x")], [], "crm-tr:"
      ),
      ([KafkaHeader(key: RPCWire.status, string: "0")], [0, 0, 0, 200, 1], "length-prefixed"),
    ]
    let client = GRPCClient(transport: harness.clientTransport())
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      group.addTask {
        var answered = 0
        while answered < answers.count {
          for request in try await fakeServer.poll(timeout: .milliseconds(100)) {
            let (headers, value, _) = answers[answered]
            answered += 1
            let id = request.headers.string(RPCWire.correlationID) ?? ""
            let replyTo = request.headers.string(RPCWire.replyTo) ?? ""
            _ = try await producer.send(
              KafkaProducerMessage(
                topic: replyTo, value: value, headers: [KafkaHeader(key: RPCWire.correlationID, string: id)] + headers)
            )
          }
        }
      }
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: client)
      for (_, _, expected) in answers {
        let error = await #expect(throws: RPCError.self) {
          _ = try await diagnostics.echo(echo("x"), options: options(timeout: .seconds(10)))
        }
        #expect(error?.code == .internalError)
        #expect(error?.message.contains(expected) == true, "\(String(describing: error?.message))")
      }
      client.beginGracefulShutdown()
      try await group.waitForAll()
    }
    await fakeServer.close()
    await producer.shutdown()
    try await admin.deleteTopics([requestTopic])
  }
}
