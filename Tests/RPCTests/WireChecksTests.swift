import CRMKafka
import GRPCCore
import Testing

@testable import CRMRPC

/// Every header and number a server or client reads from a record, checked without a broker.
@Suite("Wire checks")
struct WireChecksTests {
  static let now: Int64 = 1_800_000_000_000

  static func request(
    _ replace: [String: String?] = [:], extra: [KafkaHeader] = [], value: [UInt8] = RPCRecord.frame([[1, 2]])
  ) -> KafkaConsumerMessage {
    let defaults: [(String, String)] = [
      ("crm-rpc-method", "crm.common.v1.Diagnostics/Echo"),
      ("crm-rpc-correlation-id", "c-1"),
      ("crm-rpc-reply-to", "crm.rpc.reply.test-1"),
      ("crm-rpc-deadline", "\(now + 5_000)"),
    ]
    let fields: [(String, String)] = defaults.compactMap { key, value in
      guard let replacement = replace[key] else { return (key, value) }
      return replacement.map { (key, $0) }  // nil: header left out
    }
    let headers = fields.map { KafkaHeader(key: $0.0, string: $0.1) } + extra
    return KafkaConsumerMessage(
      topic: "crm.rpc.test", partition: 0, offset: 7, key: nil, value: value, headers: headers)
  }

  func refusal(_ record: KafkaConsumerMessage) -> String? {
    switch KafkaServerTransport.validate(record, now: Self.now) {
    case .success: nil
    case .failure(let problem): problem.description
    }
  }

  @Test func wellFormedRequestPasses() throws {
    let call = try KafkaServerTransport.validate(
      Self.request(extra: [KafkaHeader(key: "crm-md:crm-caller", string: "manager-7")]), now: Self.now
    ).get()
    #expect(call.descriptor.fullyQualifiedMethod == "crm.common.v1.Diagnostics/Echo")
    #expect(call.replyTo == "crm.rpc.reply.test-1")
    #expect(call.messages == [[1, 2]])
    #expect(call.metadata[stringValues: "crm-caller"].map { $0 } == ["manager-7"])
  }

  static let badDeadlines: [(String, String)] = [
    ("-9223372036854775808", "in the past"),
    ("9223372036854775807", "ahead"),
    ("99999999999999999999", "decimal Int64"),
    ("-99999999999999999999", "decimal Int64"),
    ("", "decimal Int64"),
    ("+1800000005000", "decimal Int64"),
    (" 1800000005000", "decimal Int64"),
    ("1.8e12", "decimal Int64"),
    ("0", "in the past"),
    ("\(now - 60_001)", "in the past"),
    ("\(now + 600_001)", "ahead"),
  ]

  @Test(arguments: badDeadlines)
  func deadlineOutOfRangeIsRefusedNamingTheHeader(_ value: String, _ reason: String) throws {
    let problem = try #require(refusal(Self.request(["crm-rpc-deadline": value])))
    #expect(problem.contains("crm-rpc-deadline"), "\(problem)")
    #expect(problem.contains(reason), "\(problem)")
  }

  @Test func deadlineJustPassedIsWellFormedAndLeftToExpire() throws {
    let call = try KafkaServerTransport.validate(
      Self.request(["crm-rpc-deadline": "\(Self.now - 59_000)"]), now: Self.now
    ).get()
    #expect(call.deadline < ContinuousClock.now)
    #expect(refusal(Self.request(["crm-rpc-deadline": "\(Self.now + 600_000)"])) == nil)
  }

  static let badRoutes: [(String, String?, String)] = [
    ("crm-rpc-method", nil, "missing header crm-rpc-method"),
    ("crm-rpc-method", "Echo", "package.Service/Method"),
    ("crm-rpc-method", "a/b/c", "package.Service/Method"),
    ("crm-rpc-method", "/Echo", "package.Service/Method"),
    ("crm-rpc-method", "crm.X/Echo\u{0}", "package.Service/Method"),
    ("crm-rpc-method", "crm.X/" + String(repeating: "e", count: 300), "longer than 256"),
    ("crm-rpc-correlation-id", "", "empty"),
    ("crm-rpc-correlation-id", "a b", "printable ASCII"),
    ("crm-rpc-correlation-id", String(repeating: "x", count: 129), "longer than 128"),
    ("crm-rpc-reply-to", "crm.rpc.contacts", "crm.rpc.reply."),
    ("crm-rpc-reply-to", "crm.rpc.reply.", "crm.rpc.reply."),
    ("crm-rpc-reply-to", "crm.rpc.reply.a/b", "Kafka topic name"),
    ("crm-rpc-reply-to", "crm.rpc.reply.\u{202E}x", "Kafka topic name"),
    ("crm-rpc-reply-to", "crm.rpc.reply." + String(repeating: "r", count: 240), "longer than 249"),
  ]

  @Test(arguments: badRoutes)
  func routingHeaderIsCheckedAndNamed(_ header: String, _ value: String?, _ expected: String) throws {
    let problem = try #require(refusal(Self.request([header: value])))
    #expect(problem.contains(header), "\(problem)")
    #expect(problem.contains(expected), "\(problem)")
  }

  @Test func repeatedOrNullRoutingHeaderIsRefused() throws {
    let twice = Self.request(extra: [KafkaHeader(key: "crm-rpc-reply-to", string: "crm.rpc.reply.other")])
    #expect(refusal(twice)?.contains("appears more than once") == true)
    var null = Self.request(["crm-rpc-correlation-id": nil])
    null.headers.append(KafkaHeader(key: "crm-rpc-correlation-id", value: nil))
    #expect(refusal(null)?.contains("null value") == true)
    let many = Self.request(extra: (0..<200).map { KafkaHeader(key: "x-\($0)", string: "") })
    #expect(refusal(many)?.contains("more than 128") == true)
  }

  @Test func invalidUTF8InHeadersIsRefusedNotDecodedAway() throws {
    var record = Self.request(["crm-rpc-correlation-id": nil])
    record.headers.append(KafkaHeader(key: "crm-rpc-correlation-id", value: [0xff, 0xfe]))
    #expect(refusal(record)?.contains("crm-rpc-correlation-id") == true)
  }

  static let badMetadata: [(KafkaHeader, String)] = [
    (KafkaHeader(key: "crm-md:", string: "x"), "metadata key"),
    (KafkaHeader(key: "crm-md:a b", string: "x"), "metadata key"),
    (KafkaHeader(key: "crm-md:crm-caller", string: "иван"), "printable ASCII"),
    (KafkaHeader(key: "crm-md:crm-caller", string: "a\u{0}b"), "printable ASCII"),
    (KafkaHeader(key: "crm-md:crm-caller", value: [0xc3]), "printable ASCII"),
    (KafkaHeader(key: "crm-md:grpc-timeout", string: "-1S"), "digits and a unit"),
    (KafkaHeader(key: "crm-md:grpc-timeout", string: "999999999S"), "digits and a unit"),
    (KafkaHeader(key: "crm-md:grpc-timeout", string: "+1S"), "digits and a unit"),
    (KafkaHeader(key: "crm-md:grpc-timeout", string: "5x"), "digits and a unit"),
  ]

  @Test(arguments: badMetadata)
  func metadataIsBounded(_ header: KafkaHeader, _ expected: String) throws {
    let problem = try #require(refusal(Self.request(extra: [header])))
    #expect(problem.contains(expected), "\(problem)")
  }

  @Test func metadataValueAbove8KiBIsRefused() throws {
    let large = KafkaHeader(key: "crm-md:big", string: String(repeating: "x", count: 9000))
    #expect(refusal(Self.request(extra: [large]))?.contains("longer than 8192") == true)
  }

  @Test func timeoutsAsGRPCCoreSendsThemPass() throws {
    for timeout in ["29999997u", "1n", "99999999H", "120S"] {
      #expect(refusal(Self.request(extra: [KafkaHeader(key: "crm-md:grpc-timeout", string: timeout)])) == nil)
    }
  }

  @Test func binaryMetadataTakesAnyBytesButNotWithoutLimit() throws {
    #expect(refusal(Self.request(extra: [KafkaHeader(key: "crm-md:trace-bin", value: [0, 0xff, 0x0a])])) == nil)
    let many = (0..<65).map { KafkaHeader(key: "crm-md:k\($0)", string: "v") }
    #expect(refusal(Self.request(extra: many))?.contains("more than 64") == true)
    let large = (0..<5).map { KafkaHeader(key: "crm-md:k\($0)-bin", value: Array(repeating: 1, count: 8000)) }
    #expect(refusal(Self.request(extra: large))?.contains("in all") == true)
  }

  @Test func valueMustFrameExactlyOneMessage() throws {
    #expect(refusal(Self.request(value: []))?.contains("0 messages") == true)
    #expect(refusal(Self.request(value: RPCRecord.frame([[1], [2]])))?.contains("2 messages") == true)
    #expect(refusal(Self.request(value: [0, 0, 0, 9, 1]))?.contains("length-prefixed") == true)
    #expect(refusal(Self.request(value: [0xff, 0xff, 0xff, 0xff]))?.contains("length-prefixed") == true)
    #expect(refusal(Self.request(value: [0, 0]))?.contains("length-prefixed") == true)
    #expect(refusal(Self.request(value: RPCRecord.frame([[]]))) == nil)
  }

  static func reply(_ headers: [KafkaHeader]) -> Result<Status, RPCRecord.WireProblem> {
    do throws(RPCRecord.WireProblem) {
      return .success(try RPCRecord.status(headers))
    } catch {
      return .failure(error)
    }
  }

  @Test(arguments: ["17", "-1", "99", "", "1 ", "+1", "007", "-9223372036854775808", "٣"])
  func replyStatusOutsideGRPCRangeIsRefused(_ code: String) throws {
    let result = Self.reply([KafkaHeader(key: "crm-rpc-status", string: code)])
    guard case .failure(let problem) = result else {
      Issue.record("accepted \(code)")
      return
    }
    #expect(problem.description.contains("crm-rpc-status"))
  }

  @Test func replyStatusAndMessageInRangePass() throws {
    for code in 0...16 {
      let status = try Self.reply([
        KafkaHeader(key: "crm-rpc-status", string: "\(code)"), KafkaHeader(key: "crm-rpc-message", string: "m"),
      ]).get()
      #expect(status.code.rawValue == code)
    }
    let long = Self.reply([
      KafkaHeader(key: "crm-rpc-status", string: "3"),
      KafkaHeader(key: "crm-rpc-message", string: String(repeating: "m", count: 20_000)),
    ])
    #expect(throws: RPCRecord.WireProblem.self) { try long.get() }
    #expect(throws: RPCRecord.WireProblem.self) { try Self.reply([]).get() }
  }

  @Test func statusMessageIsCutAtACharacter() {
    let cut = RPCRecord.boundedStatusMessage(String(repeating: "ж", count: 10_000))
    #expect(cut.utf8.count <= RPCRecord.Limits.statusMessageBytes)
    #expect(cut.hasSuffix("…"))
    #expect(RPCRecord.boundedStatusMessage("short") == "short")
  }

  @Test func hugeDurationsSaturateInsteadOfTrapping() {
    #expect(Duration.seconds(Int64.max).wholeMilliseconds == .max)
    #expect(Duration.seconds(Int64.min).wholeMilliseconds == .min)
    #expect(Duration.milliseconds(1500).wholeMilliseconds == 1500)
  }

  @Test func offsetsOfPartitionsNoLongerHeldAreNotCommitted() {
    var tracker = OffsetTracker()
    let p0 = KafkaTopicPartition(topic: "t", partition: 0)
    let p1 = KafkaTopicPartition(topic: "t", partition: 1)
    tracker.started(topic: "t", partition: 0, offset: 10)
    tracker.started(topic: "t", partition: 1, offset: 20)
    tracker.finished(topic: "t", partition: 0, offset: 10)
    tracker.finished(topic: "t", partition: 1, offset: 20)
    let committed = tracker.takeCommittable(holding: [p0])  // p1 was revoked meanwhile
    #expect(committed.map { "\($0.partition):\($0.offset)" } == ["0:11"])
    #expect(tracker.takeCommittable(holding: [p0, p1]).isEmpty)  // p1's old progress is forgotten
    tracker.started(topic: "t", partition: 0, offset: Int64.max)  // no trap on the next-offset sum
    #expect(tracker.inFlightCount == 1)
  }
}
