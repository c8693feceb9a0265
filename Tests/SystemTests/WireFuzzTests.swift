import CRMContracts
import CRMKafka
import CRMTestSupport
import Foundation
import Logging
import Testing

/// Issue 11: no record, token or payload from the wire can crash, stall or double a service.
/// Every executable, each on a schema of its own and all on a broker of the test's own, gets
/// 10,000 seeded hostile records on its request topic (`WireFuzzer`). Afterwards every service
/// is alive and ready, exactly the malformed records are in its dead-letter topic, and every
/// well-formed one got exactly one reply with a precise status.
@Suite("Wire fuzz")
struct WireFuzzTests {
  static let services = ["contacts", "deals", "activity", "quality-control", "reporting"]
  static let recordsPerService = 10_000
  /// `CRM_FUZZ_SEED` replays a run; the seed is in every failure message.
  static let seed = UInt64(ProcessInfo.processInfo.environment["CRM_FUZZ_SEED"] ?? "") ?? 0x11_2026_1201
  static let logger = Logger(label: "wire-fuzz")

  struct NotReady: Error, CustomStringConvertible {
    var description: String
  }

  struct Running {
    var name: String
    var process: ChildProcess
    var httpPort: Int
  }

  @Test(.timeLimit(.minutes(3)))
  func everyServiceSurvivesTenThousandHostileRecords() async throws {
    try await withSchemas(Self.services[...], [:]) { schemas in
      try await fuzz(schemas: schemas)
    }
  }

  func withSchemas(
    _ services: ArraySlice<String>, _ schemas: [String: String], _ body: ([String: String]) async throws -> Void
  ) async throws {
    guard let first = services.first else { return try await body(schemas) }
    try await TestSchema.with(database: first) { _, schema in
      try await withSchemas(services.dropFirst(), schemas.merging([first: schema]) { $1 }, body)
    }
  }

  func start(_ service: String, brokers: String, schema: String) async throws -> Running {
    let port = freeLocalPort()
    let process = try ChildProcess(
      LocalStack.binDirectory.appendingPathComponent(service),
      environment: [
        "CRM_DATABASE_URL": LocalStack.databaseURL(service) + "&search_path=\(schema)",
        "CRM_KAFKA_BROKERS": brokers,
        "CRM_TOKEN_VERIFY_KEYS_FILE": TestIdentity.publicKeyFile,
        // The activity service calls contacts (birthdays) as itself.
        "CRM_SERVICE_SIGNING_KEY_FILE": TestIdentity.privateKeyFile,
        "CRM_HTTP_PORT": "\(port)",
        "CRM_LOG_LEVEL": "error",
      ].merging(TestIdentity.reviewCodeEnvironment(service)) { _, added in added }
    )
    let ready = try await HTTPProbe.waitForStatus("http://127.0.0.1:\(port)/health/ready", 200, within: .seconds(60))
    guard ready == 200 else {
      process.signal(SIGKILL)
      throw NotReady(description: "\(service) never became ready: \(process.standardError)")
    }
    return Running(name: service, process: process, httpPort: port)
  }

  func fuzz(schemas: [String: String]) async throws {
    let broker = try await PrivateBroker()
    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "wire-fuzz")
    let running = try await withThrowingTaskGroup(of: Running.self) { group in
      for service in Self.services {
        group.addTask { try await start(service, brokers: broker.brokers, schema: schemas[service]!) }
      }
      return try await group.reduce(into: []) { $0.append($1) }
    }
    defer { for service in running { service.process.signal(SIGKILL) } }

    let admin = try KafkaAdmin(configuration: kafka, logger: Self.logger)
    let fuzzer = TestIdentity.principal("operator:wire-fuzz")
    let replyTopic = fuzzer.replyTopicPrefix + UUID().uuidString.prefix(8).lowercased()
    let token = try await TestIdentity.issuer.token(
      for: fuzzer, audience: TestIdentity.audience, lifetime: .seconds(1800))
    try await admin.createTopics([replyTopic], partitions: 1)

    // Generate every case first (seeded, one task per service), then send them all at once.
    let started = ContinuousClock.now
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    // On a thread of its own: seconds of CPU on Swift's cooperative pool (two threads here)
    // would starve the other suites of this process (their consumers missed
    // max.poll.interval.ms and left their groups).
    let cases = await withCheckedContinuation {
      (continuation: CheckedContinuation<[String: [WireFuzzer.Case]], Never>) in
      let thread = Thread {
        var cases: [String: [WireFuzzer.Case]] = [:]
        for (index, service) in Self.services.enumerated() {
          var fuzzer = WireFuzzer(
            seed: Self.seed &+ UInt64(index), service: service, replyTopic: replyTopic, token: token)
          cases[service] = (0..<Self.recordsPerService).map { fuzzer.next(index: $0, now: now) }
        }
        continuation.resume(returning: cases)
      }
      thread.name = "wire-fuzz-generator"
      thread.start()
    }
    let generated = ContinuousClock.now
    let producer = try KafkaProducer(configuration: kafka, logger: Self.logger)
    _ = try await producer.send(batch: Self.services.flatMap { cases[$0]! }.map(\.record))
    await producer.shutdown()
    let sent = ContinuousClock.now

    let expectedReplies = Set(cases.values.joined().filter { $0.expectation == .reply }.map(\.id))
    let expectedLetters = Dictionary(
      grouping: cases.values.joined().filter { $0.expectation == .deadLetter }, by: { $0.record.topic }
    ).mapValues { Set($0.map(\.id)) }

    // Replies by correlation id, dead letters by fuzz id, until all are in (generous limits: a
    // loaded two-core CI machine runs every suite beside this one; a pass returns early).
    let replies = try await collect(
      kafka: kafka, partitions: [(replyTopic, 0)], until: expectedReplies.count, within: .seconds(240)
    )
    var letters: [String: [KafkaConsumerMessage]] = [:]
    for service in Self.services {
      letters[service] = try await collect(
        kafka: kafka, partitions: [("crm.dlq.rpc.\(service)", 0)],
        until: expectedLetters["crm.rpc.\(service)"]?.count ?? 0, within: .seconds(90))
    }
    let finished = ContinuousClock.now

    let byID = Dictionary(uniqueKeysWithValues: cases.values.joined().map { ($0.id, $0) })
    let seed = "seed \(Self.seed) (CRM_FUZZ_SEED)"

    // Every well-formed call: exactly one reply, with a precise status.
    let replyIDs = replies.compactMap { $0.headers.string(RPCWire.correlationID) }
    #expect(replyIDs.count == Set(replyIDs).count, "duplicate replies; \(seed)")
    let missing = expectedReplies.subtracting(replyIDs)
    #expect(
      missing.isEmpty,
      "\(missing.count) well-formed calls got no reply, e.g. \(missing.prefix(5).map { byID[$0]!.what }); \(seed)")
    let unexpected = Set(replyIDs).subtracting(expectedReplies)
    #expect(unexpected.isEmpty, "replies to malformed records: \(unexpected.prefix(5).map { byID[$0]?.what ?? $0 })")
    var imprecise: [String: Int] = [:]
    var statuses: [String: Int] = [:]
    for reply in replies {
      let code = reply.headers.string(RPCWire.status) ?? "none"
      statuses[code, default: 0] += 1
      guard code == "2" || code == "13" || code == "none" else { continue }  // UNKNOWN, INTERNAL
      let fuzzCase = byID[reply.headers.string(RPCWire.correlationID) ?? ""]
      let message = reply.headers.string(RPCWire.message) ?? ""
      imprecise[
        "status \(code) to \(fuzzCase?.what ?? "?"): \(message.prefix(160)) — e.g. \(fuzzCase?.detail ?? "")",
        default: 0] += 1
    }
    for (failure, count) in imprecise.sorted(by: { $0.key < $1.key }) {
      Self.logger.error("imprecise reply (\(count)×): \(failure)")
    }
    #expect(
      imprecise.isEmpty,
      """
      \(imprecise.values.reduce(0, +)) replies with an imprecise status; \(seed):
      \(imprecise.sorted { $0.value > $1.value }.prefix(25).map { "\($0.value)× \($0.key)" }.joined(separator: "\n"))
      """)

    // Every malformed record: in its service's dead-letter topic exactly once, with a reason.
    var lettered = 0
    for service in Self.services {
      let ids = letters[service, default: []].map { $0.headers.string(WireFuzzer.idHeader) ?? "(no id)" }
      let expected = expectedLetters["crm.rpc.\(service)"] ?? []
      lettered += ids.count
      #expect(ids.count == expected.count, "\(service): \(ids.count) dead letters for \(expected.count) malformed")
      let notLettered = expected.subtracting(ids)
      #expect(
        notLettered.isEmpty,
        "\(service): not dead-lettered: \(notLettered.prefix(5).map { byID[$0]!.what }); \(seed)")
      let wrongly = Set(ids).subtracting(expected)
      #expect(
        wrongly.isEmpty, "\(service): dead-lettered but well-formed: \(wrongly.prefix(5).map { byID[$0]?.what ?? $0 })")
      #expect(letters[service, default: []].allSatisfy { $0.headers.string(RPCWire.deadLetterError) != nil })
    }

    // Every service alive and ready.
    for service in running {
      #expect(service.process.process.isRunning, "\(service.name) died: \(service.process.standardError.suffix(2000))")
      let ready = await HTTPProbe.status("http://127.0.0.1:\(service.httpPort)/health/ready")
      #expect(ready == 200, "\(service.name) /health/ready: \(String(describing: ready))")
    }

    Self.logger.notice(
      """
      wire fuzz (\(seed)): \(byID.count) records to \(Self.services.count) services; \
      \(expectedLetters.values.map(\.count).reduce(0, +)) malformed, \(lettered) dead-lettered; \
      \(expectedReplies.count) well-formed, \(replies.count) replies \(statuses.sorted { $0.key < $1.key }); \
      generated in \(generated - started), sent in \(sent - generated), all answered after \(finished - started)
      """)

    for service in running { service.process.signal(SIGTERM) }
    for service in running { _ = try await service.process.waitForExit(within: .seconds(10)) }
    // The broker keeps every record in memory: delete what this test filled, then stop it.
    try await admin.deleteTopics(
      [replyTopic] + Self.services.flatMap { ["crm.rpc.\($0)", "crm.dlq.rpc.\($0)"] })
    try await broker.kill()
  }

  /// The records of `partitions` from the beginning until `count` arrived or `limit` passed.
  func collect(
    kafka: KafkaConfiguration, partitions: [(String, Int32)], until count: Int, within limit: Duration
  ) async throws -> [KafkaConsumerMessage] {
    let consumer = try await KafkaConsumer(
      configuration: kafka,
      subscription: .partitions(partitions.map { ($0.0, $0.1, .beginning) }),
      fetchWait: .milliseconds(20),
      logger: Self.logger
    )
    var records: [KafkaConsumerMessage] = []
    let deadline = ContinuousClock.now + limit
    while records.count < count && ContinuousClock.now < deadline {
      records += try await consumer.poll(maximum: 5000, timeout: .milliseconds(200))
    }
    // A little longer: a duplicate would come right behind.
    let settle = ContinuousClock.now + .milliseconds(500)
    while ContinuousClock.now < settle {
      records += try await consumer.poll(maximum: 5000, timeout: .milliseconds(100))
    }
    await consumer.close()
    return records
  }
}
