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

/// The contacts, deals and activity executables on one broker: the activity service learns the
/// converted lead's contact and deal from their events, a meeting logged on the deal over Kafka
/// is published on `crm.activity.events`, and `crmctl activity …` keeps the catalogue, reads the
/// timeline, records a declined offer and keeps a task. The activity service runs as its runtime
/// role, as deployed.
@Suite("Activity executable")
struct ActivityProcessTests {
  static let logger = Logger(label: "activity-process-test")

  @Test func aMeetingOnAConvertedLeadsDealIsLoggedAndPublished() async throws {
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      try await TestSchema.with(database: "deals") { _, dealsSchema in
        try await TestSchema.with(database: "activity") { _, activitySchema in
          try await run(schemas: (contactsSchema, dealsSchema, activitySchema))
        }
      }
    }
  }

  func run(schemas: (contacts: String, deals: String, activity: String)) async throws {
    let broker = try await PrivateBroker()
    let contactsProcess = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: schemas.contacts)
    defer { contactsProcess.signal(SIGKILL) }
    let dealsProcess = try await ServiceProcess.start("deals", brokers: broker.brokers, schema: schemas.deals)
    defer { dealsProcess.signal(SIGKILL) }
    // As deployed: the runtime role (owns nothing, runs no DDL) serves, the owner migrates.
    let activityProcess = try await ServiceProcess.start(
      "activity", brokers: broker.brokers, schema: schemas.activity,
      environment: [
        "CRM_DATABASE_URL": LocalStack.runtimeDatabaseURL("activity") + "&search_path=\(schemas.activity)",
        "CRM_MIGRATION_DATABASE_URL": LocalStack.databaseURL("activity") + "&search_path=\(schemas.activity)",
        // A production calendar's entries (the end-of-day reports).
        "CRM_HOLIDAYS": "2026-01-01..2026-01-08, 2026-02-23", "CRM_WORKING_DAYS": "2026-11-01",
        "CRM_END_OF_DAY": "18:30",
      ])
    defer { activityProcess.signal(SIGKILL) }

    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "activity-process-test")
    func client(_ service: String, as principal: String = "manager:manager-9") -> GRPCClient<KafkaClientTransport> {
      TestIdentity.kafkaClient(kafka, service: service, as: principal, logger: Self.logger)
    }
    let contactsClient = client("contacts")
    let headClient = client("deals", as: "head_of_sales:head-1")
    let dealsClient = client("deals")
    let activityClient = client("activity")
    let clients = [contactsClient, headClient, dealsClient, activityClient]
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in clients { group.addTask { try await client.runConnections() } }
      defer { for client in clients { client.beginGracefulShutdown() } }
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: contactsClient)
      let deals = Crm_Deals_V1_Deals.Client(wrapping: dealsClient)
      let activity = Crm_Activity_V1_Activity.Client(wrapping: activityClient)

      let run = try await LeadConversion.run(
        lead: "Пётр Прицепов", owner: "manager-9", line: "trailers", pipeline: "Trailer sales",
        stages: [("Request", 10), ("Offer", 40), ("Contract", 80)],
        contacts: contacts, headOfSales: Crm_Deals_V1_Deals.Client(wrapping: headClient))
      let converted = run.converted
      let contactID = converted.contact.id
      let deal = try await eventually("the deal of the converted lead", every: .milliseconds(100)) {
        () async throws -> Crm_Deals_V1_Deal? in
        do {
          return try await deals.listOpenDealsOfContact(.with { $0.contactID = contactID }).deals.first
        } catch let error as RPCError where error.code == .notFound {
          return nil
        }
      }

      // The activity service learns the deal from the deals events: until then, NOT_FOUND.
      let meeting = Crm_Activity_V1_LogActivityRequest.with {
        $0.kind = .meeting
        $0.dealID = deal.id
        $0.text = "Showed the trailer at the client's yard"
      }
      let logged = try await eventually("the deal known to the activity service", every: .milliseconds(100)) {
        () async throws -> Crm_Activity_V1_ActivityRecord? in
        do {
          return try await activity.logActivity(meeting, metadata: ["crm-request-id": "meeting-1"])
        } catch let error as RPCError where error.code == .notFound {
          return nil
        }
      }
      #expect(logged.contactID == contactID && logged.author == "manager:manager-9")
      let published = try await records(topic: EventTopics.activity, kafka: kafka, for: .seconds(20)) {
        $0.contains { $0.envelope.type == "crm.activity.v1.ActivityLogged" }
      }
      let envelope = try #require(published.first { $0.envelope.type == "crm.activity.v1.ActivityLogged" }?.envelope)
      #expect(envelope.aggregateID == logged.id && envelope.actor == "manager:manager-9")
      #expect(try Crm_Activity_V1_ActivityLogged(serializedBytes: envelope.payload).activity == logged)

      // crmctl: the catalogue (a head of sales's), a context checked against it, the timeline,
      // and an offer the client declines. Exit code = gRPC status code.
      func crmctl(_ method: String, _ json: String, as principal: String = "manager:manager-9") async throws -> (
        status: Int32?, output: String
      ) {
        let child = try ChildProcess(
          LocalStack.binDirectory.appendingPathComponent("crmctl"),
          arguments: ["activity", method, "--json", json, "--brokers", broker.brokers, "--as", principal],
          environment: TestIdentity.crmctlEnvironment)
        let status = try await child.waitForExit(within: .seconds(30))
        return (status, child.standardOutput + child.standardError)
      }
      let place = try await crmctl(
        "DefineAttribute",
        #"{"key": "meeting_place", "label": "Where", "type": "ATTRIBUTE_TYPE_CHOICE", "choices": ["Office", "Yard"]}"#,
        as: "head_of_sales:head-1")
      #expect(place.status == 0, "\(place.output)")
      let unknown = try await crmctl(
        "LogActivity", #"{"kind": "ACTIVITY_KIND_CALL", "dealId": "\#(deal.id)", "context": {"mood": {"text": "ok"}}}"#)
      #expect(unknown.status == 3 && unknown.output.contains("attribute catalogue"), "\(unknown.output)")
      let call = try await crmctl(
        "LogActivity",
        #"{"kind": "ACTIVITY_KIND_CALL", "dealId": "\#(deal.id)", "context": {"meeting_place": {"choice": "yard"}}}"#)
      #expect(call.status == 0 && call.output.contains("Yard"), "\(call.output)")
      let timeline = try await crmctl("GetTimeline", #"{"contactId": "\#(contactID)"}"#)
      #expect(timeline.status == 0 && timeline.output.contains(logged.id), "\(timeline.output)")

      let offer = try await activity.makeOffer(
        .with {
          $0.dealID = deal.id
          $0.variant = "A"
          $0.amount = .with {
            $0.minorUnits = 900_000_00
            $0.currency = "RUB"
          }
          $0.answerBy = .init(date: Date().addingTimeInterval(86_400))
        })
      let declined = try await crmctl(
        "AnswerOffer",
        #"{"offerId": "\#(offer.id)", "outcome": "OFFER_OUTCOME_DECLINED", "reason": "Too dear", "expectedVersion": 1}"#
      )
      #expect(declined.status == 0 && declined.output.contains("OFFER_OUTCOME_DECLINED"), "\(declined.output)")
      let dueAt = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3 * 86_400))
      let task = try await crmctl(
        "CreateTask", #"{"dealId": "\#(deal.id)", "title": "Send the contract", "dueAt": "\#(dueAt)"}"#)
      #expect(task.status == 0 && task.output.contains("TASK_STATUS_OPEN"), "\(task.output)")
      let open = try await crmctl("ListOpenTasks", "{}")
      #expect(open.status == 0 && open.output.contains("Send the contract"), "\(open.output)")
      // His end-of-day report of today so far, and a day to come refused naming the field.
      let report = try await crmctl("GetHygieneReport", #"{"asOfNow": true}"#)
      #expect(report.status == 0 && report.output.contains("manager-9"), "\(report.output)")
      let future = try await crmctl("GetHygieneReport", #"{"day": {"year": 9999, "month": 12, "day": 31}}"#)
      #expect(future.status == 3 && future.output.contains("day: is 9999-12-31"), "\(future.output)")
      #expect(activityProcess.process.isRunning, "\(activityProcess.standardError)")
    }
  }

}
