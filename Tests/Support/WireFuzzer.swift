import CRMContracts
import CRMKafka
import Foundation
import GRPCCore
import SwiftProtobuf

/// Seeded hostile request records for a service's request topic (issue 11). Each record says
/// what the transport must do with it: dead-letter it (it breaks the record format, DESIGN §4
/// and §8) or run it and reply (the format is fine, whatever the message holds).
///
/// What counts as malformed is written out here from the format's rules, not taken from the
/// transport's code, so the fuzz test checks one against the other.
public struct WireFuzzer {
  public enum Expectation: Sendable, Equatable {
    case deadLetter
    case reply
  }

  public struct Case: Sendable {
    public var id: String
    public var record: KafkaProducerMessage
    public var expectation: Expectation
    /// What the record tries (for the report of a failure), e.g. "deadline Int64.min".
    public var what: String
    /// The message as JSON (its start), for the report of a failure.
    public var detail: String = ""
  }

  /// The header carrying a case's id, kept by the dead-letter topic with the original headers.
  public static let idHeader = "fuzz-id"

  public var random: SplitMix64
  public let service: String
  public let replyTopic: String
  /// The token of the well-formed calls (an operator's: every method is open to him, so the
  /// fuzz reaches every handler), whose reply topics `replyTopic` must be among.
  public let token: String
  let methods: [CRMMethod]

  public init(seed: UInt64, service: String, replyTopic: String, token: String) {
    random = SplitMix64(seed: seed)
    self.service = service
    self.replyTopic = replyTopic
    self.token = token
    methods = CRMMethod.catalog.filter { $0.server == service }
  }

  // MARK: values

  static let extremeStrings: [String] = [
    "", " ", "\u{0}", "a\u{0}b", "\u{202E}gnp.exe\u{202C}", "\u{2066}x\u{2069}", "\u{FEFF}", "\u{200B}",
    "\r\n", "\u{1F}\u{7F}", "' OR 1=1 --", "%s%n%x", "\\", "\"", "\u{10FFFF}", "e\u{301}\u{301}\u{301}",
    "👨‍👩‍👧‍👦", "Ёлка ёж", "+7 (912) 345-67-89", "a@b.c", "NaN", "-0", "null",
  ]

  /// Large strings, 1/3 of them maximal within a sane record (a request must stay far below
  /// the broker's record limit even with several of them).
  static let largeStrings: [String] =
    ["я", "x", "\u{0}", "\u{202E}"].map { String(repeating: $0, count: 4096) } + [
      String(repeating: "x", count: 64 * 1024)
    ]
  static let pooledJSON = extremeStrings.map(json)
  static let largeJSON = largeStrings.map(json)

  mutating func extremeString() -> String {
    switch Int.random(in: 0..<100, using: &random) {
    case 0..<80: return random.pick(Self.extremeStrings)
    case 80..<97: return randomScalars()
    default: return random.pick(Self.largeStrings)
    }
  }

  /// JSON of an extreme string (escaped once for the fixed ones: escaping is the slow part).
  mutating func extremeStringJSON() -> String {
    switch Int.random(in: 0..<100, using: &random) {
    case 0..<80: return random.pick(Self.pooledJSON)
    case 80..<97: return Self.json(randomScalars())
    default: return random.pick(Self.largeJSON)
    }
  }

  /// Random scalars from every plane (surrogates are no scalars and are left out).
  mutating func randomScalars() -> String {
    String(
      String.UnicodeScalarView(
        (0..<Int.random(in: 1...40, using: &random)).compactMap { _ in
          Unicode.Scalar(UInt32.random(in: 0...0x10FFFF, using: &random))
        }))
  }

  mutating func int64() -> Int64 {
    random.pick([Int64.min, Int64.max, Int64.min + 1, Int64.max - 1, -1, 0, 1, Int64(Int32.max) + 1])
  }

  mutating func int32() -> Int32 { random.pick([Int32.min, Int32.max, -1, 0, 1, 13, 32, 101]) }

  /// JSON text of a string, controls escaped.
  static func json(_ text: String) -> String {
    var out = "\""
    let hex = Array("0123456789abcdef")
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case _ where scalar.value < 0x20 || scalar.value == 0x7f:
        out += "\\u00" + String(hex[Int(scalar.value >> 4)]) + String(hex[Int(scalar.value & 0xf)])
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }

  /// A valid message of `type` whose fields hold extreme values. Its fields are found by
  /// reflection (generated messages store each field as a property, or in a heap `_storage`),
  /// set through the JSON form (which reaches every field by name), then serialized.
  mutating func extremeMessage(_ type: any (Message & Sendable).Type) -> [UInt8] {
    var fields: [(String, String)] = []
    for (name, value) in self.fields(of: type) where random.chance(0.7) {
      if let json = extremeJSON(value, depth: 0) { fields.append((name, json)) }
    }
    // A value the guess got wrong (a float out of range, say) is dropped until the JSON decodes.
    while true {
      let text = "{" + fields.map { "\(Self.json($0.0)): \($0.1)" }.joined(separator: ",") + "}"
      if let message = try? type.init(jsonString: text, options: Self.lenient),
        let bytes = try? message.serializedBytes() as [UInt8]
      {
        lastJSON = text
        return bytes
      }
      guard !fields.isEmpty else { return [] }
      fields.remove(at: Int.random(in: 0..<fields.count, using: &random))
    }
  }

  /// JSON of an extreme value of the field whose default value is `value`; nil to leave it out.
  mutating func extremeJSON(_ value: Any, depth: Int) -> String? {
    switch value {
    case is String: return extremeStringJSON()
    case is Int64: return "\"\(int64())\""
    case is Int32: return "\(int32())"
    case is UInt64: return random.pick(["\"18446744073709551615\"", "\"0\""])
    case is UInt32: return random.pick(["4294967295", "0"])
    case is Bool: return random.chance(0.5) ? "true" : "false"
    case is Double, is Float: return random.pick(["1e308", "-1e308", "\"NaN\"", "\"-Infinity\"", "5e-324", "0"])
    case is Data: return "\"" + Data(random.bytes(Int.random(in: 0...64, using: &random))).base64EncodedString() + "\""
    case is [String]:
      let items = (0..<Int.random(in: 0...3, using: &random)).map { _ in extremeStringJSON() }
      return "[" + items.joined(separator: ",") + "]"
    case is [String: String]:
      return "{\(extremeStringJSON()): \(extremeStringJSON())}"
    case is any SwiftProtobuf.Enum:
      return "\(random.pick([999, -1, Int(Int32.max), Int(Int32.min)]))"  // unknown values
    default:
      let type = Swift.type(of: value)
      if let optional = type as? any OptionalMessage.Type {
        if ObjectIdentifier(optional.wrappedMessage) == ObjectIdentifier(Google_Protobuf_Timestamp.self) {
          return Self.json(
            random.pick(["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "1970-01-01T00:00:00Z"]))
        }
        return depth < 2 ? extremeObject(optional.wrappedMessage, depth: depth + 1) : nil
      }
      if let array = type as? any MessageArray.Type, depth < 2 {
        let items = (0..<Int.random(in: 0...3, using: &random)).map { _ in
          extremeObject(array.elementMessage, depth: depth + 1)
        }
        return "[" + items.joined(separator: ",") + "]"
      }
      return nil
    }
  }

  mutating func extremeObject(_ type: any Message.Type, depth: Int) -> String {
    var parts: [String] = []
    for (name, value) in fields(of: type) where random.chance(0.7) {
      if let json = extremeJSON(value, depth: depth) { parts.append("\(Self.json(name)): \(json)") }
    }
    return "{" + parts.joined(separator: ",") + "}"
  }

  var fieldCache: [ObjectIdentifier: [(String, Any)]] = [:]
  /// Extreme messages made so far per method, with their JSON: after 40, a method's messages
  /// are mostly drawn again from these (making one is the slow part of generating a case).
  var pool: [String: [([UInt8], String)]] = [:]

  mutating func pooledMessage(_ method: CRMMethod) -> [UInt8] {
    let key = method.descriptor.fullyQualifiedMethod
    let made = pool[key, default: []]
    if made.count >= 40 && !random.chance(0.05) {
      let (bytes, json) = random.pick(made)
      lastJSON = json
      return bytes
    }
    let bytes = extremeMessage(method.input)
    if made.count < 40 { pool[key, default: []].append((bytes, lastJSON)) }
    return bytes
  }
  /// The JSON of the last message `extremeMessage` made.
  var lastJSON = ""

  /// `(proto field name, default value)` of a generated message type's fields, found once.
  mutating func fields(of type: any Message.Type) -> [(String, Any)] {
    if let known = fieldCache[ObjectIdentifier(type)] { return known }
    let found = Self.reflectFields(of: type)
    fieldCache[ObjectIdentifier(type)] = found
    return found
  }

  static func reflectFields(of type: any Message.Type) -> [(String, Any)] {
    func walk(_ subject: Any) -> [(String, Any)] {
      Mirror(reflecting: subject).children.flatMap { child -> [(String, Any)] in
        guard let label = child.label, label != "unknownFields", label != "_protobuf_extensionFieldValues" else {
          return []
        }
        if label == "_storage" { return walk(child.value) }
        return [(protoName(label.hasPrefix("_") ? String(label.dropFirst()) : label), child.value)]
      }
    }
    return walk(type.init())
  }

  /// `ownerID` → `owner_id`: the proto name, which JSON decoding accepts beside the JSON name.
  static func protoName(_ swiftName: String) -> String {
    var name = ""
    var previous: Character?
    for character in swiftName {
      if character.isUppercase, let previous, previous.isLowercase || previous.isNumber { name += "_" }
      name += character.lowercased()
      previous = character
    }
    return name
  }

  static let lenient: JSONDecodingOptions = {
    var options = JSONDecodingOptions()
    options.ignoreUnknownFields = true
    return options
  }()

  // MARK: records

  func headers(
    method: String = "crm.common.v1.Diagnostics/Echo", id: String, replyTo: String? = nil, deadline: String
  ) -> [KafkaHeader] {
    [
      KafkaHeader(key: RPCWire.method, string: method),
      KafkaHeader(key: RPCWire.correlationID, string: id),
      KafkaHeader(key: RPCWire.replyTo, string: replyTo ?? replyTopic),
      KafkaHeader(key: RPCWire.deadline, string: deadline),
      KafkaHeader(key: Self.idHeader, string: id),
      KafkaHeader(key: RPCWire.requestMetadataPrefix + "authorization", string: "Bearer " + token),
    ]
  }

  /// The next case; `now` in epoch milliseconds; `index` makes the id unique.
  public mutating func next(index: Int, now: Int64) -> Case {
    let id = "fuzz-\(service)-\(index)"
    let deadline = "\(now + 540_000)"  // 9 min: inside the 10-min bound, past any slow CI run
    var method = random.pick(methods)
    let echo = methods.first { $0.descriptor.method == "Echo" }!
    if random.chance(0.3) { method = echo }
    var body = pooledMessage(method)
    if body.count > 300_000 { body = [] }  // two of them must still fit one record
    let good = headers(method: method.descriptor.fullyQualifiedMethod, id: id, deadline: deadline)

    func record(_ headers: [KafkaHeader], _ value: [UInt8]) -> KafkaProducerMessage {
      KafkaProducerMessage(topic: "crm.rpc.\(service)", value: value, headers: headers)
    }
    func malformed(_ what: String, _ headers: [KafkaHeader], _ value: [UInt8]? = nil) -> Case {
      Case(id: id, record: record(headers, value ?? RPCWire.frame([body])), expectation: .deadLetter, what: what)
    }
    func replaced(_ key: String, _ value: [UInt8]?) -> [KafkaHeader] {
      good.map { $0.key == key ? KafkaHeader(key: key, value: value) : $0 }
    }
    let detail = String(lastJSON.prefix(300))
    func wellFormed(_ what: String, _ headers: [KafkaHeader], _ value: [UInt8]) -> Case {
      Case(id: id, record: record(headers, value), expectation: .reply, what: what, detail: detail)
    }

    let required = [RPCWire.method, RPCWire.correlationID, RPCWire.replyTo, RPCWire.deadline]
    switch Int.random(in: 0..<100, using: &random) {
    // Malformed: 45 of 100.
    case 0..<4:
      let key = random.pick(required)
      return malformed("\(key) missing", good.filter { $0.key != key })
    case 4..<6:
      let key = random.pick(required)
      return malformed("\(key) twice", good + good.filter { $0.key == key })
    case 6..<7:
      let key = random.pick(required)
      return malformed("\(key) null", replaced(key, nil))
    case 7..<11:
      let bad = random.pick([
        "", "Echo", "a/b/c", "/Echo", "crm.common.v1.Diagnostics/", "crm.x/Echo\u{0}", "crm.x/É",
        "crm.x/" + String(repeating: "e", count: 300), "crm x/Echo", "crm.x/Ec.ho",
      ])
      return malformed("method \(bad.debugDescription.prefix(40))", replaced(RPCWire.method, Array(bad.utf8)))
    case 11..<13:
      let bad: [UInt8] = random.pick([
        [], Array("a b".utf8), Array(repeating: 0x41, count: 129), [0xff, 0xfe], [0x41, 0x00], [0x09],
      ])
      return malformed("correlation id \(bad.prefix(8))", replaced(RPCWire.correlationID, bad))
    case 13..<17:
      let bad = random.pick([
        "crm.rpc.contacts", "crm.dlq.rpc.\(service)", "crm.rpc.reply.", "crm.rpc.reply.a/b", "crm.rpc.reply.a b",
        "crm.rpc.reply.\u{202E}x", "crm.rpc.reply.x\u{0}", "crm.rpc.reply." + String(repeating: "r", count: 236),
        "CRM.RPC.REPLY.x", "", "..", "crm.rpc.reply.ж",
      ])
      return malformed("reply-to \(bad.debugDescription.prefix(40))", replaced(RPCWire.replyTo, Array(bad.utf8)))
    case 17..<27:
      let bad = random.pick([
        "-9223372036854775808", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "99999999999999999999999", "", "+\(now + 60_000)", " \(now + 60_000)", "\(now + 60_000) ", "0x7fffffff",
        "1e12", "-1", "0", "\(now - 61_000)", "\(now - 86_400_000)", "\(now + 30 * 60_000)",
        "\(now + 365 * 86_400_000)", String("\(now + 60_000)".prefix(Int.random(in: 1...12, using: &random))),
        "١٢٣", "NaN", "\(now + 60_000).5",
      ])
      return malformed("deadline \(bad.debugDescription)", replaced(RPCWire.deadline, Array(bad.utf8)))
    case 27..<29:
      return malformed(
        "deadline random bytes",
        replaced(RPCWire.deadline, random.bytes(Int.random(in: 1...24, using: &random)).map { $0 | 0x80 }))
    case 29..<34:
      let bad: KafkaHeader = random.pick([
        KafkaHeader(key: "crm-md:", string: "x"), KafkaHeader(key: "crm-md:a b", string: "x"),
        KafkaHeader(key: "crm-md:a/b", string: "x"), KafkaHeader(key: "crm-md:ключ", string: "x"),
        KafkaHeader(key: "crm-md:crm-caller", string: "Иван\u{1B}"),
        KafkaHeader(key: "crm-md:crm-caller", string: "a\u{0}"),
        KafkaHeader(key: "crm-md:x", string: "\u{7F}"), KafkaHeader(key: "crm-md:x", value: [0xc3, 0x28]),
        KafkaHeader(key: "crm-md:x", string: String(repeating: "v", count: 8193)),
        KafkaHeader(key: "crm-md:grpc-timeout", string: "-1S"), KafkaHeader(key: "crm-md:grpc-timeout", string: "S"),
        KafkaHeader(key: "crm-md:grpc-timeout", string: "-9223372036854775808n"),
        KafkaHeader(key: "crm-md:grpc-timeout", string: "999999999H"),
        KafkaHeader(key: "crm-md:grpc-timeout", string: "5x"),
        KafkaHeader(key: "crm-md:" + String(repeating: "k", count: 129), string: "x"),
      ])
      return malformed("metadata \(bad.key.prefix(30))", good + [bad])
    case 34..<35:
      let many = (0..<65).map { KafkaHeader(key: "crm-md:k\($0)", string: "v") }
      return malformed("65 metadata entries", good + many)
    case 35..<36:
      let large = (0..<5).map { KafkaHeader(key: "crm-md:k\($0)-bin", value: Array(repeating: 7, count: 8000)) }
      return malformed("40 KB of metadata", good + large)
    case 36..<37:
      let many = (0..<Int.random(in: 129...300, using: &random)).map { KafkaHeader(key: "x-\($0)", value: []) }
      return malformed("\(many.count + good.count) headers", good + many)
    case 37..<43:
      let framed = RPCWire.frame([body])
      let broken: (String, [UInt8]) = random.pick([
        ("no messages", []),
        ("two messages", RPCWire.frame([body, body])),
        ("truncated frame", Array(framed.dropLast(Int.random(in: 1...min(4, framed.count), using: &random)))),
        ("length beyond the value", [0x7f, 0xff, 0xff, 0xff] + body),
        ("length 2^32-1", [0xff, 0xff, 0xff, 0xff]),
        ("three bytes", [0, 0, 1]),
        ("trailing bytes", framed + [0, 0]),
      ])
      return malformed("value: \(broken.0)", good, broken.1)
    case 43..<45:
      var bytes = random.bytes(Int.random(in: 0...512, using: &random))
      // Not by chance exactly one frame: a first length equal to the rest.
      if bytes.count >= 4, RPCWire.frame([Array(bytes.dropFirst(4))]) == bytes { bytes.append(0) }
      if bytes.count < 4 { bytes = [0, 0, 0, 9] + bytes.prefix(3) }
      let garbageHeaders = (0..<Int.random(in: 0...6, using: &random)).map { _ in
        KafkaHeader(key: extremeString().filter { $0 != "\u{0}" }.prefix(40).description, value: random.bytes(8))
      }
      let keep = garbageHeaders.filter { !$0.key.hasPrefix("crm-") }
      return malformed("random record", keep + [KafkaHeader(key: Self.idHeader, string: id)], bytes)

    // Well-formed: 55 of 100.
    case 45..<50:
      return wellFormed(
        "random bytes as \(method.descriptor.method)", good,
        RPCWire.frame([random.bytes(Int.random(in: 0...256, using: &random))]))
    case 50..<53:
      // Invalid UTF-8 inside a string field: the protobuf decoder must refuse it (INVALID_ARGUMENT).
      let invalid: [UInt8] = [0x0a, 0x04, 0xff, 0xfe, 0xc3, 0x28]
      return wellFormed("invalid UTF-8 in field 1 of \(method.descriptor.method)", good, RPCWire.frame([invalid]))
    case 53..<55:
      let unknown = random.pick(["crm.contacts.v1.Contacts/Nothing", "crm.nothing.v1.Nothing/Echo", "A/B"])
      return wellFormed(
        "unknown method \(unknown)", replaced(RPCWire.method, Array(unknown.utf8)), RPCWire.frame([body]))
    case 55..<58:
      let extra: [KafkaHeader] = random.pick([
        [KafkaHeader(key: "crm-md:trace-bin", value: random.bytes(64))],
        [KafkaHeader(key: "crm-md:grpc-timeout", string: "120S")],
        [KafkaHeader(key: "crm-md:x", string: String(repeating: "~", count: 8192))],
        (0..<60).map { KafkaHeader(key: "crm-md:k\($0)", string: "v") },
        [KafkaHeader(key: "unrelated", value: nil), KafkaHeader(key: "crm-tr:x", string: "ignored")],
      ])
      return wellFormed("extreme but legal metadata", good + extra, RPCWire.frame([body]))
    default:
      return wellFormed("extreme \(method.descriptor.method)", good, RPCWire.frame([body]))
    }
  }
}

/// `Optional<SomeMessage>`, the type of a generated message field, naming its message type.
protocol OptionalMessage {
  static var wrappedMessage: any Message.Type { get }
}

extension Optional: OptionalMessage where Wrapped: Message {
  static var wrappedMessage: any Message.Type { Wrapped.self }
}

/// `[SomeMessage]`, the type of a repeated message field, naming its element type.
protocol MessageArray {
  static var elementMessage: any Message.Type { get }
}

extension Array: MessageArray where Element: Message {
  static var elementMessage: any Message.Type { Element.self }
}
