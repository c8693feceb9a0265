import CRMDomain
import CRMPhoneNumbers
import Foundation

/// A call or an e-mail reported by a provider's webhook, checked and normalised: the client's
/// side (`counterpart`: an E.164 number or a lower-case address) is what is matched against the
/// directory of contacts.
struct Communication: Sendable, Equatable {
  enum Channel: String, Sendable { case telephony, mail }

  var channel: Channel
  /// The provider's id of this event: a repeat of it is answered with the first result.
  var eventID: String
  /// started, answered, ended (telephony); sent, received (mail).
  var event: String
  /// in or out, from the company's side (mail: received is in, sent is out).
  var direction: String
  var counterpart: String
  /// The company's side: our line's number, or our mailbox.
  var ours: [String]
  var occurredAt: Date
  /// The manager on the call or mailbox, when the provider knows him (a principal's subject).
  var managerID: String
  /// Whether it becomes an activity: a call once it ended (one per call, with its duration),
  /// every e-mail. Started and answered events are kept only.
  var logged: Bool
  /// The activity's text.
  var summary: String
  /// Everything checked, as stored (`payload` column).
  var details: [String: String]
}

/// The checks of webhook bodies (documented in the README, "Webhooks"). Every failure names the field.
enum CommunicationInput {
  static let idLength = 128
  static let urlLength = 2048
  static let subjectLength = 998
  static let longestCall = 86_400
  static let recipients = 50

  static let telephonyFields: Set<String> = [
    "event_id", "event", "call_id", "direction", "from", "to", "duration_s", "recording_url", "occurred_at",
    "manager_id", "extension",
  ]
  static let mailFields: Set<String> = [
    "event_id", "event", "from", "to", "subject", "message_id", "occurred_at", "manager_id",
  ]

  static func telephony(_ body: [UInt8], region: String, now: Date = Date()) throws(InvalidField) -> Communication {
    let fields = try WebhookFields(body, known: telephonyFields)
    let eventID = try fields.text("event_id", limit: idLength, required: true)
    let event = try fields.choice("event", from: ["started", "answered", "ended"])
    let callID = try fields.text("call_id", limit: idLength)
    let direction = try fields.choice("direction", from: ["in", "out"])
    let from = try phone(fields, "from", region: region)
    let to = try phone(fields, "to", region: region)
    let duration = try fields.integer("duration_s", in: 0...longestCall)
    if duration != nil && event != "ended" {
      throw InvalidField(field: "duration_s", reason: "is given on a \(event) event; only an ended call has a duration")
    }
    let recording = try url(fields, "recording_url")
    let occurredAt = try occurred(fields, now: now)
    let manager = try managerID(fields)
    let extensionNumber = try fields.text("extension", limit: 32)
    let client = direction == "in" ? from : to
    let line = direction == "in" ? to : from
    var summary =
      (direction == "in" ? "Incoming call from \(client) to \(line)" : "Outgoing call to \(client) from \(line)")
    if let duration {
      summary += duration == 0 ? ", not answered" : ", \(duration / 60) min \(duration % 60) s"
    }
    if !extensionNumber.isEmpty { summary += ", extension \(extensionNumber)" }
    if !recording.isEmpty { summary += "\nrecording: \(recording)" }
    var details = [
      "event_id": eventID, "event": event, "direction": direction, "from": from, "to": to,
      "occurred_at": WebhookTimes.text(occurredAt),
    ]
    for (key, value) in [
      ("call_id", callID), ("recording_url", recording), ("manager_id", manager), ("extension", extensionNumber),
      ("duration_s", duration.map(String.init) ?? ""),
    ] where !value.isEmpty {
      details[key] = value
    }
    return Communication(
      channel: .telephony, eventID: eventID, event: event, direction: direction, counterpart: client, ours: [line],
      occurredAt: occurredAt, managerID: manager, logged: event == "ended", summary: summary, details: details)
  }

  static func mail(_ body: [UInt8], now: Date = Date()) throws(InvalidField) -> Communication {
    let fields = try WebhookFields(body, known: mailFields)
    let eventID = try fields.text("event_id", limit: idLength, required: true)
    let event = try fields.choice("event", from: ["sent", "received"])
    let from = try address(try fields.text("from", limit: 254, required: true), "from")
    var to: [String] = []
    for (index, text) in try fields.texts("to", limit: 254, count: recipients).enumerated() {
      to.append(try address(text, "to[\(index)]"))
    }
    let subject = try fields.text("subject", limit: subjectLength)
    let messageID = try fields.text("message_id", limit: 998)
    let occurredAt = try occurred(fields, now: now)
    let manager = try managerID(fields)
    // A received mail's client is its sender; a sent one's its first recipient (the rest are copies).
    let received = event == "received"
    let client = received ? from : to[0]
    var summary = received ? "E-mail from \(from)" : "E-mail to \(to.joined(separator: ", "))"
    summary += subject.isEmpty ? " (no subject)" : ": \(subject)"
    var details = [
      "event_id": eventID, "event": event, "from": from, "to": to.joined(separator: ", "),
      "occurred_at": WebhookTimes.text(occurredAt),
    ]
    for (key, value) in [("subject", subject), ("message_id", messageID), ("manager_id", manager)]
    where !value.isEmpty {
      details[key] = value
    }
    return Communication(
      channel: .mail, eventID: eventID, event: event, direction: received ? "in" : "out", counterpart: client,
      ours: received ? to : [from], occurredAt: occurredAt, managerID: manager, logged: true, summary: summary,
      details: details)
  }

  /// A phone number in E.164; a national form is read in `region`.
  static func phone(_ fields: WebhookFields, _ name: String, region: String) throws(InvalidField) -> String {
    let raw = try fields.text(name, limit: 64, required: true)
    guard let number = PhoneNumberCache.e164(raw, region: region) else {
      throw InvalidField(
        field: name, reason: "\(Text.quoted(raw)) is not a phone number (national forms are read in \(region))")
    }
    return number
  }

  /// A bare e-mail address (`name@domain`), lower-cased.
  static func address(_ raw: String, _ name: String) throws(InvalidField) -> String {
    let address = raw.lowercased()
    let parts = address.split(separator: "@", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
      !parts[1].hasSuffix("."), !address.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" || $0 == "," })
    else {
      throw InvalidField(field: name, reason: "\(Text.quoted(raw)) is not an e-mail address (expected name@domain)")
    }
    return address
  }

  static func url(_ fields: WebhookFields, _ name: String) throws(InvalidField) -> String {
    let text = try fields.text(name, limit: urlLength)
    guard !text.isEmpty else { return "" }
    guard let url = URL(string: text), ["https", "http"].contains(url.scheme?.lowercased() ?? ""), url.host != nil
    else {
      throw InvalidField(field: name, reason: "\(Text.quoted(text)) is not an http(s) URL")
    }
    return text
  }

  /// When it happened: not in the future beyond the activities' clock skew, not before 2000.
  static func occurred(_ fields: WebhookFields, now: Date) throws(InvalidField) -> Date {
    let date = try fields.instant("occurred_at")
    guard date <= now.addingTimeInterval(ActivityInput.clockSkew) else {
      throw InvalidField(field: "occurred_at", reason: "is in the future")
    }
    guard date >= ActivityInput.earliest else {
      throw InvalidField(field: "occurred_at", reason: "is before 2000-01-01")
    }
    return date
  }

  /// A manager's id as tokens carry it (`a-z 0-9 . _ -`, at most 64).
  static func managerID(_ fields: WebhookFields) throws(InvalidField) -> String {
    let id = try fields.text("manager_id", limit: 64)
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789._-")
    guard id.allSatisfy({ allowed.contains($0) }) else {
      throw InvalidField(field: "manager_id", reason: "\(Text.quoted(id)) is not a manager id (a-z 0-9 . _ -)")
    }
    return id
  }
}
