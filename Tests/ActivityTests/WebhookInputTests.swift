import CRMDomain
import Foundation
import Testing

@testable import ActivityService

/// The webhooks' pure rules: the signature, and the bodies' checks (every refusal names the field).
@Suite("Activity webhooks: signature and input")
struct WebhookInputTests {
  static let secret = Array("a shared secret of the providers".utf8)
  static let now = Date(timeIntervalSince1970: 1_796_083_200)  // 2026-12-01T00:00:00Z
  static let signer = WebhookSignature(secret: secret)

  static func call(_ fields: [String: Any]) -> [UInt8] {
    var body: [String: Any] = [
      "event_id": "call-1-ended", "event": "ended", "direction": "in", "from": "8 (912) 345-67-89",
      "to": "+7 495 123-45-67", "duration_s": 125, "occurred_at": "2026-11-30T10:15:00Z",
    ]
    body.merge(fields) { $1 }
    return Array(try! JSONSerialization.data(withJSONObject: body.filter { !($0.value is NSNull) }))
  }

  func refusal(_ body: [UInt8], timestamp: String?, signature: String?) -> String? {
    do {
      try Self.signer.verify(body, timestamp: timestamp, signature: signature, now: Self.now)
      return nil
    } catch {
      #expect(error.status == 401 && error.error == "unauthenticated")
      return error.message
    }
  }

  @Test func aSignedBodyIsAcceptedAndAnyChangeOrStaleOrMissingHeaderIsRefused() {
    let body = Self.call([:])
    let stamp = Int64(Self.now.timeIntervalSince1970)
    let signature = Self.signer.sign(body, timestamp: stamp)
    #expect(signature.hasPrefix("sha256=") && signature.count == 7 + 64)
    #expect(refusal(body, timestamp: "\(stamp)", signature: signature) == nil)
    // Upper-case hex is the same code.
    #expect(refusal(body, timestamp: "\(stamp)", signature: "sha256=" + signature.dropFirst(7).uppercased()) == nil)
    // Within the window either way.
    #expect(
      refusal(body, timestamp: "\(stamp - 299)", signature: Self.signer.sign(body, timestamp: stamp - 299)) == nil)
    #expect(
      refusal(body, timestamp: "\(stamp + 299)", signature: Self.signer.sign(body, timestamp: stamp + 299)) == nil)

    #expect(refusal(body, timestamp: nil, signature: signature) == "the X-CRM-Timestamp header is missing")
    #expect(refusal(body, timestamp: "\(stamp)", signature: nil) == "the X-CRM-Signature header is missing")
    #expect(refusal(body, timestamp: "\(stamp)", signature: "") == "the X-CRM-Signature header is missing")
    #expect(
      refusal(body, timestamp: "\(stamp - 301)", signature: Self.signer.sign(body, timestamp: stamp - 301))
        == "X-CRM-Timestamp \(stamp - 301) is 301 s old; at most 300 s either way")
    #expect(
      refusal(body, timestamp: "\(stamp + 400)", signature: Self.signer.sign(body, timestamp: stamp + 400))
        == "X-CRM-Timestamp \(stamp + 400) is 400 s ahead; at most 300 s either way")
    #expect(refusal(body, timestamp: "soon", signature: signature) == "X-CRM-Timestamp is not unix seconds: \"soon\"")
    #expect(refusal(body, timestamp: "-5", signature: signature) == "X-CRM-Timestamp is not unix seconds: \"-5\"")
    let mismatch = "X-CRM-Signature does not match the body and timestamp (wrong secret or changed body)"
    // A changed body, a moved timestamp (signed with another), another secret.
    #expect(refusal(body + [32], timestamp: "\(stamp)", signature: signature) == mismatch)
    #expect(refusal(body, timestamp: "\(stamp + 1)", signature: signature) == mismatch)
    let other = WebhookSignature(secret: Array("another secret, not shared".utf8)).sign(body, timestamp: stamp)
    #expect(refusal(body, timestamp: "\(stamp)", signature: other) == mismatch)
    for bad in ["sha1=" + signature.dropFirst(7), "sha256=xyz", "sha256=" + signature.dropFirst(8), signature + "00"] {
      #expect(
        refusal(body, timestamp: "\(stamp)", signature: String(bad)) == "X-CRM-Signature is not sha256=<64 hex digits>")
    }
  }

  /// The hand-read times (`WebhookTimes.wholeSeconds`) answer what the formatters answer: the
  /// same instant for what it reads, and everything else is left to them.
  @Test func timesReadByHandAreTheFormattersTimes() {
    let plain = ISO8601DateFormatter()
    let fractional = ISO8601DateFormatter()
    fractional.formatOptions.insert(.withFractionalSeconds)
    let reference = { (text: String) in plain.date(from: text) ?? fractional.date(from: text) }
    var texts = [
      "2026-11-30T10:15:00Z", "2024-02-29T23:59:59Z", "2023-02-29T10:00:00Z", "2026-04-31T10:00:00Z",
      "2026-13-01T10:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T10:60:00Z", "2026-12-01T10:15:60Z",
      "2000-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2100-02-29T00:00:00Z",
      "2000-02-29T12:00:00+03:00", "2026-12-01T00:30:00-09:30", "2026-12-01T10:15:00+05:45",
      "2026-12-01T10:15:00+14:00", "2026-12-01T10:15:00+15:00", "2026-12-01t10:15:00z", "2026-12-01T10:15:00",
      "2026-12-01 10:15:00Z", "2026-12-01T10:15:00.250Z", "2026-12-01T10:15:00+0300", "+026-12-01T10:15:00Z",
      "2026-1a-01T10:15:00Z", "",
    ]
    // Every day of a leap year and an ordinary one, at times and offsets across the day.
    var generator = SystemRandomNumberGenerator()
    for day in 0..<(366 + 365) {
      let seconds = 1_704_067_200 + day * 86_400 + Int.random(in: 0..<86_400, using: &generator)
      let offset = [0, 3 * 3600, -(9 * 3600 + 1800), 5 * 3600 + 2700][day % 4]
      let formatter = ISO8601DateFormatter()
      formatter.timeZone = TimeZone(secondsFromGMT: offset)!
      texts.append(formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))))
    }
    for text in texts {
      #expect(WebhookTimes.date(text) == reference(text), "\(text)")
    }
    #expect(WebhookTimes.wholeSeconds("2026-11-30T10:15:00Z") == reference("2026-11-30T10:15:00Z"))
    #expect(WebhookTimes.wholeSeconds("2026-12-01T00:30:00-09:30") == reference("2026-12-01T00:30:00-09:30"))
    #expect(texts.filter { WebhookTimes.wholeSeconds($0) != nil }.count > 700, "the common spellings are read by hand")
  }

  @Test func aCallIsNormalisedAndSummarised() throws {
    let call = try CommunicationInput.telephony(
      Self.call(["recording_url": "https://rec.example/1.mp3", "manager_id": "m-7", "extension": "204"]),
      region: "RU", now: Self.now)
    #expect(call.channel == .telephony && call.eventID == "call-1-ended" && call.logged)
    #expect(call.counterpart == "+79123456789" && call.ours == ["+74951234567"])
    #expect(call.managerID == "m-7")
    #expect(
      call.summary
        == "Incoming call from +79123456789 to +74951234567, 2 min 5 s, extension 204\nrecording: https://rec.example/1.mp3"
    )
    #expect(call.details["duration_s"] == "125" && call.details["from"] == "+79123456789")

    // Outgoing: the client is the callee; a start is kept, not logged.
    let out = try CommunicationInput.telephony(
      Self.call(["event": "started", "direction": "out", "duration_s": NSNull()]), region: "RU", now: Self.now)
    #expect(out.counterpart == "+74951234567" && !out.logged)
    // The region reads national forms.
    let german = try CommunicationInput.telephony(Self.call(["from": "030 1234567"]), region: "DE", now: Self.now)
    #expect(german.counterpart == "+49301234567")
  }

  func invalid(_ body: [UInt8]) -> InvalidField? {
    do {
      _ = try CommunicationInput.telephony(body, region: "RU", now: Self.now)
      return nil
    } catch {
      return error
    }
  }

  @Test func badCallBodiesNameTheField() {
    #expect(invalid(Array("{not json".utf8)) == InvalidField(field: "body", reason: "is not JSON"))
    #expect(invalid(Array("[1]".utf8)) == InvalidField(field: "body", reason: "is an array; expected a JSON object"))
    #expect(invalid(Self.call(["from": "12"]))?.field == "from")
    #expect(
      invalid(Self.call(["to": "not a phone"]))
        == InvalidField(field: "to", reason: "\"not a phone\" is not a phone number (national forms are read in RU)"))
    #expect(invalid(Self.call(["from": 79_123_456_789]))?.reason == "is a number; expected a string")
    #expect(invalid(Self.call(["event_id": NSNull()])) == InvalidField(field: "event_id", reason: "is missing"))
    #expect(
      invalid(Self.call(["event": "hung up"]))?.reason == "is \"hung up\"; expected one of started, answered, ended")
    #expect(invalid(Self.call(["direction": "sideways"]))?.field == "direction")
    #expect(invalid(Self.call(["duration_s": -1]))?.field == "duration_s")
    #expect(invalid(Self.call(["duration_s": 1.5]))?.field == "duration_s")
    #expect(invalid(Self.call(["duration_s": true]))?.reason == "is a boolean; expected a number")
    #expect(invalid(Self.call(["event": "answered"]))?.field == "duration_s")
    #expect(invalid(Self.call(["recording_url": "file:///etc/passwd"]))?.field == "recording_url")
    #expect(invalid(Self.call(["occurred_at": "yesterday"]))?.field == "occurred_at")
    #expect(
      invalid(Self.call(["occurred_at": "2027-01-01T00:00:00Z"]))
        == InvalidField(field: "occurred_at", reason: "is in the future"))
    #expect(invalid(Self.call(["manager_id": "Иван"]))?.field == "manager_id")
    #expect(invalid(Self.call(["event_id": "a\u{0}b"]))?.field == "event_id")
    #expect(invalid(Self.call(["event_id": String(repeating: "x", count: 129)]))?.field == "event_id")
    #expect(invalid(Self.call(["caller_name": "Ivan"]))?.field == "caller_name")
    // Fractions of seconds and offsets are RFC 3339 too.
    #expect(invalid(Self.call(["occurred_at": "2026-11-30T13:15:00.250+03:00"])) == nil)
  }

  @Test func mailIsMatchedByItsClientsAddressAndBadAddressesAreRefused() throws {
    func mail(_ fields: [String: Any]) -> [UInt8] {
      var body: [String: Any] = [
        "event_id": "m-1", "event": "received", "from": "Ivan@Example.COM", "to": ["sales@crm.example"],
        "subject": "Trailer prices", "message_id": "<abc@example.com>", "occurred_at": "2026-11-30T10:15:00Z",
      ]
      body.merge(fields) { $1 }
      return Array(try! JSONSerialization.data(withJSONObject: body))
    }
    let received = try CommunicationInput.mail(mail([:]), now: Self.now)
    #expect(received.counterpart == "ivan@example.com" && received.direction == "in" && received.logged)
    #expect(received.summary == "E-mail from ivan@example.com: Trailer prices")
    let sent = try CommunicationInput.mail(
      mail(["event": "sent", "from": "m7@crm.example", "to": ["Client@x.org", "boss@x.org"]]), now: Self.now)
    #expect(sent.counterpart == "client@x.org" && sent.direction == "out" && sent.ours == ["m7@crm.example"])
    // A single recipient may be a string.
    #expect(try CommunicationInput.mail(mail(["to": "one@x.org"]), now: Self.now).ours == ["one@x.org"])

    func refused(_ fields: [String: Any]) -> InvalidField? {
      do {
        _ = try CommunicationInput.mail(mail(fields), now: Self.now)
        return nil
      } catch { return error }
    }
    #expect(refused(["from": "Ivan <ivan@example.com>"])?.field == "from")
    #expect(refused(["to": ["ok@x.org", "nobody"]])?.field == "to[1]")
    #expect(refused(["to": []])?.reason == "has 0 entries; expected 1…50")
    #expect(refused(["event": "bounced"])?.field == "event")
    #expect(refused(["subject": 5])?.field == "subject")
  }
}
