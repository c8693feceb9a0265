import CRMKafka
import Foundation
import GRPCCore

/// How a call travels as Kafka records: one request record and one reply record, with
/// routing, deadline and gRPC metadata in headers and the messages framed in the value.
///
/// Everything read from a record is hostile until checked (DESIGN §8): every parser here bounds
/// lengths and counts, accepts only the characters its field may hold, and parses numbers with
/// overflow-safe arithmetic; a failure names the header and why (`WireProblem`), never traps.
enum RPCRecord {
  static let method = "crm-rpc-method"
  static let correlationID = "crm-rpc-correlation-id"
  static let replyTo = "crm-rpc-reply-to"
  /// Milliseconds since 1970 (UTC): it crosses processes and machines.
  static let deadline = "crm-rpc-deadline"
  static let statusCode = "crm-rpc-status"
  static let statusMessage = "crm-rpc-message"
  static let requestMetadataPrefix = "crm-md:"
  static let initialMetadataPrefix = "crm-hd:"
  static let trailerPrefix = "crm-tr:"
  static let replyTopicPrefix = "crm.rpc.reply."

  /// Bounds of what a record may carry. Generous for real calls, small enough that no record
  /// can make a service allocate or log without limit.
  enum Limits {
    static let headers = 128
    static let methodBytes = 256
    static let correlationIDBytes = 128
    /// Kafka's own limit for a topic name.
    static let topicNameBytes = 249
    /// "-9223372036854775808" is 20 characters: anything longer is no Int64.
    static let deadlineCharacters = 20
    static let metadataEntries = 64
    static let metadataKeyBytes = 128
    static let metadataValueBytes = 8 * 1024
    static let metadataTotalBytes = 32 * 1024
    /// What a server puts in `crm-rpc-message` (longer handler messages are cut).
    static let statusMessageBytes = 8 * 1024
    /// What a client accepts in `crm-rpc-message` (a foreign server may send more: refused).
    static let statusMessageBytesAccepted = 16 * 1024
    /// A request deadline further in the past is refused, not merely dropped as expired: no
    /// caller can still wait for it, so it is a broken or replayed record (DESIGN §8).
    static let deadlineInThePast: Int64 = 60_000
    /// A request deadline further ahead is refused: no call of this system runs that long, and
    /// a server must not hold a call (and its partition's offset) for hours on a record's word.
    static let deadlineAhead: Int64 = 600_000
  }

  // MARK: - The records

  /// A request record on `topic` (`crm.rpc.<service>`): method, correlation id, reply topic
  /// and deadline (epoch milliseconds) in headers, the call's metadata as `crm-md:` headers,
  /// its messages framed in the value.
  static func request(
    topic: String,
    descriptor: MethodDescriptor,
    correlationID id: String,
    replyTo: String,
    deadline: ContinuousClock.Instant,
    metadata: Metadata,
    messages: [[UInt8]]
  ) -> KafkaProducerMessage {
    let headers =
      [
        KafkaHeader(key: method, string: descriptor.fullyQualifiedMethod),
        KafkaHeader(key: correlationID, string: id),
        KafkaHeader(key: Self.replyTo, string: replyTo),
        KafkaHeader(key: Self.deadline, string: "\(epochMilliseconds(until: deadline))"),
      ] + headers(metadata, prefix: requestMetadataPrefix)
    return KafkaProducerMessage(topic: topic, value: frame(messages), headers: headers)
  }

  /// A request record's content, checked.
  struct Request: Sendable {
    var descriptor: MethodDescriptor
    var correlationID: String
    var replyTo: String
    /// Milliseconds from `now` to the deadline, within −60 s … +10 min.
    var remainingMilliseconds: Int64
    var metadata: Metadata
    /// Exactly one.
    var messages: [[UInt8]]
  }

  /// Checks a request record: at most `Limits.headers` headers; one well-formed method,
  /// correlation id, reply topic and deadline (`now` in epoch milliseconds); bounded metadata;
  /// a value that frames exactly one message.
  static func checkedRequest(_ record: KafkaConsumerMessage, now: Int64) throws(WireProblem) -> Request {
    let headers = record.headers
    guard headers.count <= Limits.headers else {
      throw WireProblem(description: "\(headers.count) headers, more than \(Limits.headers)")
    }
    let descriptor = try method(headers)
    let id = try correlationID(headers)
    let replyTo = try replyTo(headers)
    let remaining = try remainingMilliseconds(headers, now: now)
    let metadata = try metadata(headers, prefix: requestMetadataPrefix)
    let messages = try unframe(record.value)
    // Calls here are unary or server-streaming (DESIGN §4): one request message. GRPCCore
    // would answer none or several with INTERNAL; the record is broken, not the server.
    guard messages.count == 1 else {
      throw WireProblem(description: "the record's value frames \(messages.count) messages; a request has exactly one")
    }
    return Request(
      descriptor: descriptor, correlationID: id, replyTo: replyTo, remainingMilliseconds: remaining,
      metadata: metadata, messages: messages)
  }

  /// A reply record on the caller's reply topic: correlation id, status code and (bounded)
  /// message in headers, initial metadata as `crm-hd:` and trailers as `crm-tr:` headers, the
  /// messages framed in the value.
  static func reply(
    topic: String,
    correlationID id: String,
    status: Status,
    initial: Metadata = [:],
    trailers: Metadata = [:],
    messages: [[UInt8]] = []
  ) -> KafkaProducerMessage {
    let headers =
      [
        KafkaHeader(key: correlationID, string: id),
        KafkaHeader(key: statusCode, string: "\(status.code.rawValue)"),
        KafkaHeader(key: statusMessage, string: boundedStatusMessage(status.message)),
      ] + headers(initial, prefix: initialMetadataPrefix) + headers(trailers, prefix: trailerPrefix)
    return KafkaProducerMessage(topic: topic, value: frame(messages), headers: headers)
  }

  /// A reply record's content, checked.
  struct Reply: Sendable {
    var status: Status
    var initial: Metadata
    var trailers: Metadata
    var messages: [[UInt8]]
  }

  /// Checks a reply record: at most `Limits.headers` headers, a status code 0…16 (and a bounded
  /// message), bounded metadata, well-formed frames.
  static func checkedReply(_ record: KafkaConsumerMessage) throws(WireProblem) -> Reply {
    guard record.headers.count <= Limits.headers else {
      throw WireProblem(description: "\(record.headers.count) headers, more than \(Limits.headers)")
    }
    return Reply(
      status: try status(record.headers),
      initial: try metadata(record.headers, prefix: initialMetadataPrefix),
      trailers: try metadata(record.headers, prefix: trailerPrefix),
      messages: try unframe(record.value)
    )
  }

  // MARK: - Checks of single headers

  /// Why a record from the wire was refused: the header (or "value") and what is wrong with it.
  struct WireProblem: Error, Equatable, CustomStringConvertible {
    var description: String

    static func missing(_ header: String) -> WireProblem {
      WireProblem(description: "missing header \(header)")
    }

    static func bad(_ header: String, _ value: [UInt8]?, _ reason: String) -> WireProblem {
      WireProblem(description: "header \(header) has \(quoted(value)): \(reason)")
    }
  }

  /// A header value for a log line or a dead-letter reason: at most 64 bytes, lossy UTF-8,
  /// controls and quotes escaped.
  static func quoted(_ value: [UInt8]?) -> String {
    guard let value else { return "no value" }
    let shown = String(decoding: value.prefix(64), as: UTF8.self).debugDescription
    return value.count > 64 ? "\(shown)… (\(value.count) bytes)" : shown
  }

  /// The single header `name`: missing and repeated headers are refused (two reply-tos or two
  /// deadlines leave it open which one a server obeys).
  static func single(_ name: String, in headers: [KafkaHeader]) throws(WireProblem) -> [UInt8] {
    var found: [UInt8]?? = nil
    for header in headers where header.key == name {
      guard found == nil else { throw WireProblem(description: "header \(name) appears more than once") }
      found = .some(header.value)
    }
    guard let found else { throw .missing(name) }
    guard let value = found else { throw .bad(name, nil, "a null value") }
    return value
  }

  /// `value` as text of at most `maximum` bytes, all of them in `allowed`.
  static func ascii(
    _ name: String, _ value: [UInt8], maximum: Int, allowed: (UInt8) -> Bool, expected: String
  ) throws(WireProblem) -> String {
    guard !value.isEmpty else { throw .bad(name, value, "empty; expected \(expected)") }
    guard value.count <= maximum else { throw .bad(name, value, "longer than \(maximum) bytes") }
    guard value.allSatisfy(allowed) else { throw .bad(name, value, "expected \(expected)") }
    return String(decoding: value, as: UTF8.self)  // ASCII: lossless
  }

  static func isNameCharacter(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte) || byte == 0x5f
  }

  /// Kafka's topic-name alphabet: letters, digits, '.', '_', '-'.
  static func isTopicCharacter(_ byte: UInt8) -> Bool {
    isNameCharacter(byte) || byte == 0x2e || byte == 0x2d
  }

  /// `package.Service/Method`, as GRPCCore routes it.
  static func method(_ headers: [KafkaHeader]) throws(WireProblem) -> MethodDescriptor {
    let value = try single(method, in: headers)
    let text = try ascii(
      method, value, maximum: Limits.methodBytes,
      allowed: { isNameCharacter($0) || $0 == 0x2e || $0 == 0x2f }, expected: "package.Service/Method")
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !parts[1].contains(".") else {
      throw .bad(method, value, "expected package.Service/Method")
    }
    return MethodDescriptor(fullyQualifiedService: String(parts[0]), method: String(parts[1]))
  }

  static func correlationID(_ headers: [KafkaHeader]) throws(WireProblem) -> String {
    try ascii(
      correlationID, try single(correlationID, in: headers), maximum: Limits.correlationIDBytes,
      allowed: { (0x21...0x7e).contains($0) }, expected: "printable ASCII without spaces")
  }

  /// A legal Kafka topic name under `crm.rpc.reply.`: a server must never be steered into
  /// producing to another service's topics (or into librdkafka refusing the name).
  static func replyTo(_ headers: [KafkaHeader]) throws(WireProblem) -> String {
    let value = try single(replyTo, in: headers)
    let topic = try ascii(
      replyTo, value, maximum: Limits.topicNameBytes, allowed: isTopicCharacter,
      expected: "a Kafka topic name (letters, digits, '.', '_', '-')")
    guard topic.hasPrefix(replyTopicPrefix), topic.utf8.count > replyTopicPrefix.utf8.count else {
      throw .bad(replyTo, value, "expected a topic \(replyTopicPrefix)<instance>")
    }
    return topic
  }

  /// Milliseconds from `now` to the record's deadline, within −60 s … +10 min. The header is a
  /// decimal Int64 (epoch milliseconds); the difference is taken with overflow checks, so no
  /// value (Int64.min included) can trap.
  static func remainingMilliseconds(_ headers: [KafkaHeader], now: Int64) throws(WireProblem) -> Int64 {
    let value = try single(deadline, in: headers)
    // Int64(_:radix:) reports overflow as nil; the alphabet check keeps out '+' and whitespace.
    guard value.count <= Limits.deadlineCharacters,
      value.allSatisfy({ (0x30...0x39).contains($0) || $0 == 0x2d }),
      let millis = Int64(String(decoding: value, as: UTF8.self), radix: 10)
    else {
      throw .bad(deadline, value, "expected epoch milliseconds (a decimal Int64)")
    }
    let (remaining, overflow) = millis.subtractingReportingOverflow(now)
    guard !overflow, remaining >= -Limits.deadlineInThePast else {
      throw .bad(deadline, value, "more than \(Limits.deadlineInThePast / 1000) s in the past")
    }
    guard remaining <= Limits.deadlineAhead else {
      throw .bad(deadline, value, "more than \(Limits.deadlineAhead / 60_000) min ahead")
    }
    return remaining
  }

  /// The status of a reply: a decimal gRPC code 0…16, nothing else.
  static func status(_ headers: [KafkaHeader]) throws(WireProblem) -> Status {
    let value = try single(statusCode, in: headers)
    guard (1...2).contains(value.count), value.allSatisfy({ (0x30...0x39).contains($0) }),
      let raw = Int(String(decoding: value, as: UTF8.self)), let code = Status.Code(rawValue: raw)
    else {
      throw .bad(statusCode, value, "expected a gRPC status code 0…16")
    }
    var message = ""
    if headers.contains(where: { $0.key == statusMessage }) {
      let bytes = try single(statusMessage, in: headers)
      guard bytes.count <= Limits.statusMessageBytesAccepted else {
        throw .bad(statusMessage, bytes, "longer than \(Limits.statusMessageBytesAccepted) bytes")
      }
      message = String(decoding: bytes, as: UTF8.self)  // for people: invalid UTF-8 shown as U+FFFD
    }
    return Status(code: code, message: message)
  }

  /// A status message a server sends: at most `Limits.statusMessageBytes`, cut at a character.
  static func boundedStatusMessage(_ message: String) -> String {
    guard message.utf8.count > Limits.statusMessageBytes else { return message }
    var cut = ""
    for character in message {
      guard cut.utf8.count + character.utf8.count <= Limits.statusMessageBytes - 3 else { break }
      cut.append(character)
    }
    return cut + "…"
  }

  /// Metadata as headers: one header per value; `-bin` keys carry raw bytes (gRPC convention).
  static func headers(_ metadata: Metadata, prefix: String) -> [KafkaHeader] {
    metadata.map { element in
      switch element.value {
      case .string(let text): KafkaHeader(key: prefix + element.key, value: Array(text.utf8))
      case .binary(let bytes): KafkaHeader(key: prefix + element.key, value: bytes)
      }
    }
  }

  /// The metadata in the headers named `prefix<key>`: at most 64 entries of at most 8 KiB, 32 KiB
  /// in all; keys of gRPC's alphabet; text values UTF-8 without control characters. `grpc-timeout` is checked here because GRPCCore's
  /// own parser traps on a negative amount.
  static func metadata(_ headers: [KafkaHeader], prefix: String) throws(WireProblem) -> Metadata {
    var metadata = Metadata()
    var entries = 0
    var total = 0
    for header in headers where header.key.hasPrefix(prefix) {
      let key = String(header.key.dropFirst(prefix.count))
      let value = header.value ?? []
      entries += 1
      total += key.utf8.count + value.count
      guard entries <= Limits.metadataEntries else {
        throw WireProblem(description: "more than \(Limits.metadataEntries) \(prefix) metadata headers")
      }
      guard total <= Limits.metadataTotalBytes else {
        throw WireProblem(description: "\(prefix) metadata longer than \(Limits.metadataTotalBytes) bytes in all")
      }
      guard !key.isEmpty, key.utf8.count <= Limits.metadataKeyBytes,
        key.utf8.allSatisfy({ isNameCharacter($0) || $0 == 0x2d || $0 == 0x2e })
      else {
        throw .bad(header.key, Array(header.key.utf8), "expected a metadata key (letters, digits, '-', '_', '.')")
      }
      guard value.count <= Limits.metadataValueBytes else {
        throw .bad(header.key, value, "longer than \(Limits.metadataValueBytes) bytes")
      }
      if key.lowercased().hasSuffix("-bin") {
        metadata.addBinary(value, forKey: key)
        continue
      }
      // UTF-8 text without control characters: a caller named "менеджер-7" is a caller (HTTP/2's
      // ASCII rule does not bind a Kafka header), a NUL or an escape sequence is not.
      guard let text = String(validating: value, as: UTF8.self),
        text.unicodeScalars.allSatisfy({ !(0x00...0x1f).contains($0.value) && !(0x7f...0x9f).contains($0.value) })
      else {
        throw .bad(header.key, value, "expected UTF-8 text without control characters (or a -bin key)")
      }
      if key.lowercased() == "grpc-timeout" {
        // GRPCCore's clients send up to 8 digits and a unit; its parser preconditions a
        // non-negative amount, so "-1S" would trap the server.
        guard (2...9).contains(value.count), value.dropLast().allSatisfy({ (0x30...0x39).contains($0) }),
          "HMSmun".utf8.contains(value[value.count - 1])
        else {
          throw .bad(header.key, value, "expected 1…8 digits and a unit H, M, S, m, u or n")
        }
      }
      metadata.addString(text, forKey: key)
    }
    return metadata
  }

  /// Messages as `[UInt32 big-endian length][bytes]…`.
  static func frame(_ messages: [[UInt8]]) -> [UInt8] {
    var value: [UInt8] = []
    value.reserveCapacity(messages.reduce(0) { $0 + $1.count + 4 })
    for message in messages {
      let length = UInt32(message.count)
      value += [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
      value += message
    }
    return value
  }

  static func unframe(_ value: [UInt8]) throws(WireProblem) -> [[UInt8]] {
    let malformed = WireProblem(description: "the record's value is not a sequence of length-prefixed messages")
    var messages: [[UInt8]] = []
    var index = 0
    while index < value.count {
      guard value.count - index >= 4 else { throw malformed }
      // Four bytes into an Int: at most 2^32 − 1, no overflow on a 64-bit platform.
      let length =
        Int(value[index]) << 24 | Int(value[index + 1]) << 16 | Int(value[index + 2]) << 8 | Int(value[index + 3])
      index += 4
      guard value.count - index >= length else { throw malformed }
      messages.append(Array(value[index..<index + length]))
      index += length
    }
    return messages
  }

  static func epochMilliseconds(_ date: Date = Date()) -> Int64 {
    Int64((date.timeIntervalSince1970 * 1000).rounded())
  }

  /// The wall-clock time, in epoch milliseconds, of a monotonic-clock deadline.
  static func epochMilliseconds(until deadline: ContinuousClock.Instant) -> Int64 {
    epochMilliseconds() + (deadline - ContinuousClock.now).wholeMilliseconds
  }
}
