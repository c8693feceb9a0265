import CRMContracts
import CRMEvents
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// The contacts and deals executables on one broker: a converted lead becomes a deal in the
/// deals service through `LeadConverted`, a second delivery of that event opens nothing more, and
/// `crmctl deals …` moves, objects to, loses and reads that deal.
@Suite("Lead to deal, two executables")
struct LeadToDealProcessTests {
  static let logger = Logger(label: "lead-to-deal-test")

  @Test func aConvertedLeadOpensOneDealEvenWhenItsEventIsDeliveredTwice() async throws {
    // Schemas of their own, as in the contacts executable test: no other process shares the outboxes.
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      try await TestSchema.with(database: "deals") { _, dealsSchema in
        try await convert(contactsSchema: contactsSchema, dealsSchema: dealsSchema)
      }
    }
  }

  func convert(contactsSchema: String, dealsSchema: String) async throws {
    let broker = try await PrivateBroker()
    let contactsProcess = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: contactsSchema)
    defer { contactsProcess.signal(SIGKILL) }
    let dealsProcess = try await ServiceProcess.start("deals", brokers: broker.brokers, schema: dealsSchema)
    defer { dealsProcess.signal(SIGKILL) }

    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "lead-to-deal-test")
    func client(_ service: String, as principal: String = "manager:manager-9") -> GRPCClient<KafkaClientTransport> {
      TestIdentity.kafkaClient(kafka, service: service, as: principal, logger: Self.logger)
    }
    let contactsClient = client("contacts")
    let dealsClient = client("deals")
    // Pipelines are a head of sales' to define.
    let headClient = client("deals", as: "head_of_sales:head-1")
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await contactsClient.runConnections() }
      group.addTask { try await dealsClient.runConnections() }
      group.addTask { try await headClient.runConnections() }
      defer {
        contactsClient.beginGracefulShutdown()
        dealsClient.beginGracefulShutdown()
        headClient.beginGracefulShutdown()
      }
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: contactsClient)
      let deals = Crm_Deals_V1_Deals.Client(wrapping: dealsClient)

      let run = try await LeadConversion.run(
        lead: "Лид Процессович", owner: "manager-9", line: "training", pipeline: "Training sales",
        stages: [("Request", 10), ("Trial lesson", 40), ("Contract", 80)],
        contacts: contacts, headOfSales: Crm_Deals_V1_Deals.Client(wrapping: headClient))
      let pipeline = run.pipeline
      let lead = run.lead
      let converted = run.converted
      let contactID = converted.contact.id

      // The deals service learns of the conversion through the broker.
      let opened = try await waitForOpenDeals(of: contactID, deals: deals, atLeast: 1)
      #expect(opened.count == 1)
      let deal = try #require(opened.first)
      #expect(deal.leadID == lead.id && deal.ownerID == "manager-9" && deal.stageID == pipeline.stages[0].id)

      // Deliver the same LeadConverted record again, followed on its partition by a marker event;
      // once the marker's contact is known, the copy before it has been handled.
      func isConversion(_ envelope: Crm_Events_V1_EventEnvelope) -> Bool {
        envelope.type == "crm.contacts.v1.LeadConverted" && envelope.aggregateID == lead.id
      }
      let published = try await records(topic: "crm.contacts.events", kafka: kafka, for: .seconds(20)) {
        $0.contains { isConversion($0.envelope) }
      }
      let copy = try #require(published.first { isConversion($0.envelope) }?.record)
      let marker = UUID().uuidString.lowercased()
      let markerEvent = try OutboxEvent(
        topic: "crm.contacts.events", aggregateID: lead.id, aggregateVersion: 1, actor: "test",
        payload: Crm_Contacts_V1_ContactCreated.with {
          $0.contact.id = marker
          $0.contact.ownerID = "manager-9"
        })
      let producer = try KafkaProducer(configuration: kafka, logger: Self.logger)
      _ = try await producer.send(
        batch: [
          KafkaProducerMessage(topic: "crm.contacts.events", key: copy.key, value: copy.value),
          KafkaProducerMessage(topic: "crm.contacts.events", key: Array(lead.id.utf8), value: markerEvent.envelope),
        ])
      _ = try await waitForOpenDeals(of: marker, deals: deals, atLeast: 0)
      #expect(try await deals.listOpenDealsOfContact(.with { $0.contactID = contactID }).deals.map(\.id) == [deal.id])
      let dealEvents = try await records(topic: "crm.deals.events", kafka: kafka, for: .seconds(2))
        .filter { $0.envelope.type == "crm.deals.v1.DealOpened" && $0.envelope.aggregateID == deal.id }
      #expect(dealEvents.count == 1)

      // The operators' command line drives the same deal: exit code = gRPC status code.
      func crmctl(_ method: String, _ json: String) async throws -> (status: Int32?, output: String) {
        let child = try ChildProcess(
          LocalStack.binDirectory.appendingPathComponent("crmctl"),
          arguments: ["deals", method, "--json", json, "--brokers", broker.brokers, "--as", "manager:manager-9"],
          environment: TestIdentity.crmctlEnvironment)
        let status = try await child.waitForExit(within: .seconds(30))
        return (status, child.standardOutput + child.standardError)
      }
      let stages = pipeline.stages.map(\.id)
      let moved = try await crmctl(
        "MoveDeal", #"{"dealId": "\#(deal.id)", "toStageId": "\#(stages[2])", "expectedVersion": 1}"#)
      #expect(moved.status == 0 && moved.output.contains(stages[2]), "\(moved.output)")
      let back = try await crmctl(
        "MoveDeal", #"{"dealId": "\#(deal.id)", "toStageId": "\#(stages[1])", "expectedVersion": 2}"#)
      #expect(back.status == 9 && back.output.contains("deals move only forward"), "\(back.output)")
      let objection = try await crmctl(
        "RaiseObjection",
        #"{"dealId": "\#(deal.id)", "reason": "later", "kind": "OBJECTION_KIND_STALL", "expectedVersion": 2}"#)
      #expect(objection.status == 0, "\(objection.output)")
      let lost = try await crmctl(
        "LoseDeal", #"{"dealId": "\#(deal.id)", "reason": "no budget", "expectedVersion": 3}"#)
      #expect(lost.status == 0 && lost.output.contains("DEAL_STATUS_LOST"), "\(lost.output)")
      let history = try await crmctl("GetDeal", #"{"dealId": "\#(deal.id)"}"#)
      #expect(history.status == 0 && history.output.contains(stages[1]), "the skipped stage: \(history.output)")
      let win = try await crmctl("WinDeal", #"{"dealId": "\#(deal.id)", "expectedVersion": 4}"#)
      #expect(win.status == 9, "a lost deal is closed: \(win.output)")
    }
  }

  /// The contact's open deals once the deals service knows the contact and has `atLeast` of them.
  func waitForOpenDeals(
    of contactID: String, deals: Crm_Deals_V1_Deals.Client<KafkaClientTransport>, atLeast count: Int
  ) async throws -> [Crm_Deals_V1_Deal] {
    let deadline = ContinuousClock.now + .seconds(30)
    while true {
      do {
        let found = try await deals.listOpenDealsOfContact(.with { $0.contactID = contactID }).deals
        if found.count >= count { return found }
      } catch let error as RPCError where error.code == .notFound {
        // Not known yet.
      }
      guard ContinuousClock.now < deadline else {
        throw RPCError(code: .deadlineExceeded, message: "contact \(contactID) never had \(count) open deals")
      }
      try await Task.sleep(for: .milliseconds(100))
    }
  }
}
