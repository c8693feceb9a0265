import CRMContracts
import CRMTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

@testable import ActivityService

/// The webhooks over HTTP (the service's routes, in process) on a fresh schema of the real
/// activity database: signature and body refusals store nothing, a known contact's call or mail
/// is an activity once, an unknown caller's number waits for one lead.
@Suite("Activity webhooks: storage, matching, unknown callers")
struct WebhookStorageTests {
  static let secret = Array("a shared secret of the providers".utf8)
  static let signer = WebhookSignature(secret: secret)

  /// A contacts service that answers each request id once, like the real one (a repeat gets the
  /// first lead), failing the first `failures` calls as an unavailable service would.
  actor FakeLeads: LeadCreating {
    var failures: Int
    var requests: [String: Crm_Contacts_V1_Lead] = [:]
    var calls: [(request: Crm_Contacts_V1_CreateLeadRequest, requestID: String)] = []

    init(failures: Int = 0) { self.failures = failures }

    func createLead(_ request: Crm_Contacts_V1_CreateLeadRequest, requestID: String) async throws
      -> Crm_Contacts_V1_Lead
    {
      calls.append((request, requestID))
      if failures > 0 {
        failures -= 1
        throw CancellationError()
      }
      if let lead = requests[requestID] { return lead }
      let lead = Crm_Contacts_V1_Lead.with {
        $0.id = UUID().uuidString.lowercased()
        $0.phone = request.phone
        $0.name = request.name
        $0.source = request.source
        $0.ownerID = request.ownerID
      }
      requests[requestID] = lead
      return lead
    }
  }

  struct Posted {
    var status: HTTPResponse.Status
    var json: [String: String]
    var replay: Bool
  }

  static func callBody(_ id: String, from: String = "8 912 345-67-89", manager: String? = nil) -> [UInt8] {
    var body: [String: Any] = [
      "event_id": id, "event": "ended", "direction": "in", "from": from, "to": "+7 495 123-45-67",
      "duration_s": 65, "occurred_at": ISO8601DateFormatter().string(from: Date().addingTimeInterval(-60)),
    ]
    if let manager { body["manager_id"] = manager }
    return Array(try! JSONSerialization.data(withJSONObject: body))
  }

  static func with(
    secret: [UInt8]? = Self.secret,
    _ body: @Sendable (ActivityHarness.Context, any TestClientProtocol) async throws -> Void
  ) async throws {
    try await ActivityHarness.with { context in
      let router = Router(context: BasicRequestContext.self)
      WebhookRoutes<BasicRequestContext>(
        settings: WebhookSettings(secret: secret, maxBytes: 4096), store: context.repository,
        logger: ActivityHarness.logger
      ).addRoutes(to: router)
      try await Application(router: router).test(.router) { client in try await body(context, client) }
    }
  }

  static func post(
    _ client: any TestClientProtocol, _ path: String, _ body: [UInt8], signed: Bool = true,
    timestamp: Int64 = Int64(Date().timeIntervalSince1970), signature: String? = nil
  ) async throws -> Posted {
    var headers: HTTPFields = [.contentType: "application/json"]
    if signed {
      headers[.init("X-CRM-Timestamp")!] = "\(timestamp)"
      headers[.init("X-CRM-Signature")!] = signature ?? signer.sign(body, timestamp: timestamp)
    }
    return try await client.execute(
      uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body)
    ) { response in
      let object = (try? JSONSerialization.jsonObject(with: Data(buffer: response.body))) as? [String: Any] ?? [:]
      return Posted(
        status: response.status, json: object.compactMapValues { $0 as? String },
        replay: response.headers[.init("X-CRM-Replay")!] == "true")
    }
  }

  static func contact(_ context: ActivityHarness.Context, phones: [String] = [], emails: [String] = []) async throws
    -> String
  {
    let id = UUID().uuidString.lowercased()
    try await context.deliver(
      Crm_Contacts_V1_ContactCreated.with {
        $0.contact.id = id
        $0.contact.name = "Иван Петров"
        $0.contact.ownerID = "manager-1"
        $0.contact.phones = phones.map { number in .with { $0.number = number } }
        $0.contact.emails = emails.map { address in .with { $0.address = address } }
      }, on: EventTopics.contacts, aggregateID: id)
    return id
  }

  @Test func aKnownContactsCallIsLoggedOnceAndRepeatsAnswerTheFirstReply() async throws {
    try await Self.with { context, client in
      let contact = try await Self.contact(context, phones: ["+79123456789"])
      let body = Self.callBody("call-1")
      let first = try await Self.post(client, "/webhooks/telephony", body)
      #expect(first.status == .ok && !first.replay)
      #expect(first.json["status"] == "logged" && first.json["contact_id"] == contact)
      let activity = try #require(first.json["activity_id"])

      // A repeat (also signed anew, later) and two concurrent ones: the first reply, nothing new.
      let again = try await Self.post(
        client, "/webhooks/telephony", body, timestamp: Int64(Date().timeIntervalSince1970) + 5)
      #expect(again.status == .ok && again.replay && again.json == first.json)
      try await withThrowingTaskGroup(of: Posted.self) { group in
        for _ in 0..<2 { group.addTask { try await Self.post(client, "/webhooks/telephony", body) } }
        for try await posted in group { #expect(posted.json == first.json && posted.replay) }
      }
      #expect(try await context.count("SELECT count(*)::int FROM communications") == 1)
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 1)
      let events = try await context.events("crm.activity.v1.ActivityLogged")
      #expect(events.count == 1 && events[0].actor == "service:activity")
      let logged = try Crm_Activity_V1_ActivityLogged(serializedBytes: events[0].payload).activity
      #expect(logged.id == activity && logged.kind == .call && logged.contactID == contact)
      #expect(logged.author == "service:activity" && logged.text.hasPrefix("Incoming call from +79123456789"))

      // A call naming its manager is his; a call's start is recorded on the contact, not logged.
      let his = try await Self.post(client, "/webhooks/telephony", Self.callBody("call-2", manager: "m-7"))
      #expect(his.json["status"] == "logged")
      let timeline = try await context.activity.getTimeline(.with { $0.contactID = contact })
      #expect(Set(timeline.activities.map(\.author)) == ["manager:m-7", "service:activity"])
      var start = try JSONSerialization.jsonObject(with: Data(Self.callBody("call-3"))) as! [String: Any]
      start["event"] = "started"
      start["duration_s"] = nil
      let started = try await Self.post(
        client, "/webhooks/telephony", Array(try JSONSerialization.data(withJSONObject: start)))
      #expect(started.json["status"] == "recorded" && started.json["contact_id"] == contact)
      #expect(started.json["activity_id"] == nil)
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 2)
    }
  }

  @Test func unsignedStaleForgedOrBadRequestsAreRefusedPreciselyAndStoreNothing() async throws {
    try await Self.with { context, client in
      _ = try await Self.contact(context, phones: ["+79123456789"])
      let body = Self.callBody("call-1")
      let unsigned = try await Self.post(client, "/webhooks/telephony", body, signed: false)
      #expect(unsigned.status == .unauthorized)
      #expect(unsigned.json == ["error": "unauthenticated", "message": "the X-CRM-Timestamp header is missing"])
      let stale = try await Self.post(
        client, "/webhooks/telephony", body, timestamp: Int64(Date().timeIntervalSince1970) - 600)
      #expect(stale.status == .unauthorized && stale.json["message"]?.contains("s old; at most 300 s") == true)
      let forged = try await Self.post(
        client, "/webhooks/telephony", body,
        signature: WebhookSignature(secret: Array("not the shared secret!".utf8)).sign(
          body, timestamp: Int64(Date().timeIntervalSince1970)))
      #expect(
        forged.status == .unauthorized && forged.json["message"]?.hasPrefix("X-CRM-Signature does not match") == true)
      // A mail signature does not make a changed body pass.
      let changed = try await Self.post(
        client, "/webhooks/telephony", Self.callBody("call-9"),
        signature: Self.signer.sign(body, timestamp: Int64(Date().timeIntervalSince1970)))
      #expect(changed.status == .unauthorized)

      let notAPhone = try await Self.post(client, "/webhooks/telephony", Self.callBody("call-2", from: "12345"))
      #expect(notAPhone.status == .badRequest)
      #expect(notAPhone.json["error"] == "invalid_argument" && notAPhone.json["field"] == "from")
      #expect(notAPhone.json["message"] == "from: \"12345\" is not a phone number (national forms are read in RU)")
      let notJSON = try await Self.post(client, "/webhooks/mail", Array("{\"event_id\":".utf8))
      #expect(notJSON.status == .badRequest && notJSON.json["field"] == "body")
      let large = try await Self.post(client, "/webhooks/mail", Array(repeating: 32, count: 5000))
      #expect(large.status == .contentTooLarge && large.json["field"] == "body")

      #expect(try await context.count("SELECT count(*)::int FROM communications") == 0)
      #expect(try await context.count("SELECT count(*)::int FROM unknown_callers") == 0)
      #expect(try await context.count("SELECT count(*)::int FROM outbox") == 0)
    }
    // Without a secret the webhooks store nothing and say what to set.
    try await Self.with(secret: nil) { context, client in
      let posted = try await Self.post(client, "/webhooks/telephony", Self.callBody("call-1"))
      #expect(posted.status == .serviceUnavailable && posted.json["message"]?.contains("CRM_WEBHOOK_SECRET") == true)
      #expect(try await context.count("SELECT count(*)::int FROM communications") == 0)
    }
  }

  @Test func anUnknownCallerGetsOneLeadRetriedUntilContactsAnswersAndItsCallsJoinTheConvertedContact() async throws {
    try await Self.with { context, client in
      let first = try await Self.post(client, "/webhooks/telephony", Self.callBody("call-1", from: "+7 912 000-00-01"))
      #expect(first.json["status"] == "awaiting_lead" && first.json["lead_id"] == nil)
      _ = try await Self.post(client, "/webhooks/telephony", Self.callBody("call-1", from: "+7 912 000-00-01"))
      _ = try await Self.post(
        client, "/webhooks/telephony", Self.callBody("call-2", from: "89120000001", manager: "m-7"))
      #expect(try await context.count("SELECT count(*)::int FROM unknown_callers") == 1)
      #expect(try await context.count("SELECT count(*)::int FROM communications WHERE lead_id IS NULL") == 2)
      #expect(try await context.count("SELECT count(*)::int FROM outbox") == 0)

      // The contacts service is down at first: the number waits, with its error and back-off.
      let leads = FakeLeads(failures: 1)
      let repository = context.repository
      // One clock for the back-off: with `Date()` each time, a busy machine let its 1 s pass
      // between the failure and the next look.
      let start = Date()
      let failed = try await repository.makeLeadForNextUnknownCaller(
        leads: leads, defaultOwner: "unassigned", now: start)
      guard case .failed(let number, _, let retryIn) = failed else {
        Issue.record("expected a failure, got \(String(describing: failed))")
        return
      }
      #expect(number == "+79120000001" && retryIn == 1)
      #expect(
        try await repository.makeLeadForNextUnknownCaller(leads: leads, defaultOwner: "unassigned", now: start) == nil)
      #expect(
        try await context.count("SELECT attempts FROM unknown_callers WHERE last_error <> '' AND lead_id IS NULL") == 1)

      let later = start.addingTimeInterval(2)
      let made = try await repository.makeLeadForNextUnknownCaller(leads: leads, defaultOwner: "unassigned", now: later)
      guard case .created(_, let leadID, let calls) = made else {
        Issue.record("expected a lead, got \(String(describing: made))")
        return
      }
      #expect(calls == 2)
      #expect(
        try await repository.makeLeadForNextUnknownCaller(leads: leads, defaultOwner: "unassigned", now: later) == nil)
      let asked = await leads.calls
      #expect(asked.count == 2 && Set(asked.map(\.requestID)) == ["activity-unknown-caller-+79120000001"])
      #expect(asked[1].request.source == "incoming call" && asked[1].request.phone == "+79120000001")
      // The first call named no manager: the default owner.
      #expect(asked[1].request.ownerID == "unassigned")
      #expect(try await context.count("SELECT count(*)::int FROM communications WHERE lead_id IS NOT NULL") == 2)

      // A later call from the number is on the lead at once; nothing asks for another.
      let third = try await Self.post(client, "/webhooks/telephony", Self.callBody("call-3", from: "+79120000001"))
      #expect(third.json["status"] == "awaiting_lead" && third.json["lead_id"] == leadID)

      // The lead converted: its calls are the contact's activities, once.
      let contact = UUID().uuidString.lowercased()
      let converted = Crm_Contacts_V1_LeadConverted.with {
        $0.lead.id = leadID
        $0.lead.phone = "+79120000001"
        $0.lead.ownerID = "manager-1"
        $0.contactID = contact
      }
      try await context.deliver(converted, on: EventTopics.contacts, aggregateID: leadID)
      try await context.deliver(converted, on: EventTopics.contacts, aggregateID: leadID)
      let timeline = try await context.activity.getTimeline(.with { $0.contactID = contact })
      #expect(timeline.activities.count == 3 && timeline.activities.allSatisfy { $0.kind == .call })
      #expect(Set(timeline.activities.map(\.author)) == ["service:activity", "manager:m-7"])
      #expect(try await context.events("crm.activity.v1.ActivityLogged").count == 3)
    }
  }

  @Test func mailFromAnUnknownAddressWaitsForItsContactAndOutgoingCallsMakeNoLead() async throws {
    try await Self.with { context, client in
      let mail: [String: Any] = [
        "event_id": "<m-1@example.com>", "event": "received", "from": "Client@Example.com",
        "to": ["sales@crm.example"], "subject": "Prices", "message_id": "<m-1@example.com>",
        "occurred_at": ISO8601DateFormatter().string(from: Date()),
      ]
      let posted = try await Self.post(
        client, "/webhooks/mail", Array(try JSONSerialization.data(withJSONObject: mail)))
      #expect(posted.status == .ok && posted.json["status"] == "unmatched")
      var out = try JSONSerialization.jsonObject(with: Data(Self.callBody("call-out"))) as! [String: Any]
      out["direction"] = "out"
      out["to"] = "+7 912 000-00-02"
      let call = try await Self.post(
        client, "/webhooks/telephony", Array(try JSONSerialization.data(withJSONObject: out)))
      #expect(call.json["status"] == "unmatched")
      #expect(try await context.count("SELECT count(*)::int FROM unknown_callers") == 0)

      // The contact appears with that address and number: both become its activities.
      let contact = try await Self.contact(context, phones: ["+79120000002"], emails: ["client@example.com"])
      let timeline = try await context.activity.getTimeline(.with { $0.contactID = contact })
      #expect(Set(timeline.activities.map(\.kind)) == [.email, .call])
      #expect(timeline.activities.first { $0.kind == .email }?.text == "E-mail from client@example.com: Prices")
      // An update that drops the number unlinks nothing already logged, and logs nothing twice.
      try await context.deliver(
        Crm_Contacts_V1_ContactUpdated.with {
          $0.contact.id = contact
          $0.contact.ownerID = "manager-1"
          $0.contact.emails = [.with { $0.address = "client@example.com" }]
        }, on: EventTopics.contacts, aggregateID: contact, version: 2)
      #expect(try await context.count("SELECT count(*)::int FROM contact_addresses") == 1)
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 2)
    }
  }
}
