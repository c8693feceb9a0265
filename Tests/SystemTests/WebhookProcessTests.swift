import CRMContracts
import CRMKafka
import CRMRPC
import CRMTestSupport
import Crypto
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// The telephony webhook against the executables: two activity replicas on one database and
/// the contacts service on a private broker. An unsigned webhook stores nothing; a signed call
/// from an unknown number, posted to both replicas and again, makes exactly one lead in
/// contacts (source "incoming call"), and once that lead is converted the calls are the
/// contact's activities.
@Suite("Activity webhooks: executables")
struct WebhookProcessTests {
  static let logger = Logger(label: "webhook-process-test")
  static let secret = "a webhook secret shared with the provider"

  /// A provider's request, signed as the README says: HMAC-SHA256 of "<timestamp>.<body>".
  static func post(_ port: Int, _ path: String, _ body: Data, signed: Bool = true) async throws -> (
    status: Int, body: String, replay: Bool
  ) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
    request.httpMethod = "POST"
    request.httpBody = body
    request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    if signed {
      let timestamp = "\(Int(Date().timeIntervalSince1970))"
      let mac = HMAC<SHA256>.authenticationCode(
        for: Data(timestamp.utf8) + Data(".".utf8) + body, using: SymmetricKey(data: Data(secret.utf8)))
      request.setValue(timestamp, forHTTPHeaderField: "X-CRM-Timestamp")
      request.setValue(
        "sha256=" + mac.map { String(format: "%02x", $0) }.joined(), forHTTPHeaderField: "X-CRM-Signature")
    }
    let (data, response) = try await URLSession.shared.data(for: request)
    let http = response as! HTTPURLResponse
    return (
      http.statusCode, String(decoding: data, as: UTF8.self), http.value(forHTTPHeaderField: "X-CRM-Replay") == "true"
    )
  }

  static func call(_ id: String) -> Data {
    try! JSONSerialization.data(withJSONObject: [
      "event_id": id, "event": "ended", "direction": "in", "from": "8 (912) 555-00-11", "to": "+7 495 123-45-67",
      "duration_s": 42, "occurred_at": ISO8601DateFormatter().string(from: Date().addingTimeInterval(-30)),
    ])
  }

  @Test func anUnsignedWebhookStoresNothingAndAnUnknownCallerBecomesOneLeadAcrossRepeatsAndReplicas() async throws {
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      try await TestSchema.with(database: "activity") { makeClient, activitySchema in
        let database = makeClient()
        try await whileRunning(database) {
          try await run(contactsSchema: contactsSchema, activitySchema: activitySchema, database: database)
        }
      }
    }
  }

  func run(contactsSchema: String, activitySchema: String, database: PostgresClient) async throws {
    let broker = try await PrivateBroker()
    let contactsProcess = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: contactsSchema)
    defer { contactsProcess.signal(SIGKILL) }
    let ports = [freeLocalPort(), freeLocalPort()]
    var replicas: [ChildProcess] = []
    defer { for replica in replicas { replica.signal(SIGKILL) } }
    for (index, port) in ports.enumerated() {
      replicas.append(
        try await ServiceProcess.start(
          "activity", brokers: broker.brokers, schema: activitySchema,
          environment: [
            "CRM_HTTP_PORT": "\(port)", "CRM_INSTANCE_ID": "crm-activity-\(index)", "CRM_WEBHOOK_SECRET": Self.secret,
          ]))
    }
    func count(_ query: PostgresQuery) async throws -> Int {
      try await database.query(query).decode(Int.self).first { _ in true } ?? -1
    }

    // Unsigned: 401 saying why, nothing stored.
    let unsigned = try await Self.post(ports[0], "/webhooks/telephony", Self.call("sys-call-1"), signed: false)
    #expect(unsigned.status == 401 && unsigned.body.contains("the X-CRM-Timestamp header is missing"))
    #expect(try await count("SELECT count(*)::int FROM communications") == 0)

    // Signed: to one replica, again to the other, and a second call of the same number.
    let first = try await Self.post(ports[0], "/webhooks/telephony", Self.call("sys-call-1"))
    #expect(first.status == 200 && first.body.contains("\"status\":\"awaiting_lead\""))
    let again = try await Self.post(ports[1], "/webhooks/telephony", Self.call("sys-call-1"))
    #expect(again.status == 200 && again.replay && again.body == first.body)
    let second = try await Self.post(ports[1], "/webhooks/telephony", Self.call("sys-call-2"))
    #expect(second.status == 200)
    #expect(try await count("SELECT count(*)::int FROM communications") == 2)

    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "webhook-process-test")
    let headClient = TestIdentity.kafkaClient(
      kafka, service: "contacts", as: "head_of_sales:head-1", logger: Self.logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await headClient.runConnections() }
      defer { headClient.beginGracefulShutdown() }
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: headClient)
      let lead = try await eventually("the unknown caller's lead", within: .seconds(40)) {
        () async throws -> Crm_Contacts_V1_Lead? in
        try await contacts.listLeads(.with { $0.status = .open }).leads.first { $0.source == "incoming call" }
      }
      #expect(lead.phone == "+79125550011" && lead.ownerID == "unassigned")
      // Both replicas' workers had their chance (they look every 5 s): still one lead.
      try await Task.sleep(for: .seconds(6))
      let leads = try await contacts.listLeads(.with { $0.status = .open }).leads
      #expect(leads.filter { $0.phone == "+79125550011" }.count == 1)
      #expect(try await count("SELECT count(*)::int FROM unknown_callers WHERE lead_id = \(lead.id)") == 1)
      #expect(try await count("SELECT count(*)::int FROM communications WHERE lead_id = \(lead.id)") == 2)

      // Converted into a contact: the activity service hears of it and logs both calls on it.
      let converted = try await contacts.convertLead(
        .with {
          $0.leadID = lead.id
          $0.pipelineID = "trailers"
          $0.expectedVersion = lead.version
        })
      let contact = converted.contact.id
      let logged = try await eventually("the calls on the converted contact", within: .seconds(40)) {
        () async throws -> Int? in
        let calls = try await count(
          "SELECT count(*)::int FROM activities WHERE contact_id = \(UUID(uuidString: contact)!) AND kind = 'call'")
        return calls == 2 ? calls : nil
      }
      #expect(logged == 2)
    }
  }

}
