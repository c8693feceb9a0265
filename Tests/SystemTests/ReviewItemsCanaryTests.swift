import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import Testing

/// The Chinese wall end to end (issue 15, the proof): contacts, deals, activity and
/// quality-control executables on a broker of the test's own. Canary names (Cyrillic and Latin,
/// inflected), phones in several spellings and e-mails are seeded through contacts and deals, and
/// mentioned in meeting and call reports logged with activity; once quality-control has the
/// items, none of the canaries, in any normalised form, is in its database, its log, or any
/// record on `crm.qc.review-items`. A report that cannot be cleared arrives withheld.
@Suite("Review items: the canary test")
struct ReviewItemsCanaryTests {
  static let logger = Logger(label: "review-items-canary-test")

  static let owner = "manager-canary7"
  static let leadName = "Евлампий Зюзюкин"
  static let companyName = "Квазарстрой"
  static let otherName = "Агафья Трындычихина"
  static let otherEmail = "agafya.tryndychikhina@kvazarstroi.example"
  static let otherPhone = "+79123456789"

  /// Every canary and the forms it may take on the way (case, inflection, transliteration,
  /// digits only).
  static func canaries(ids: [String], leadEmail: String) -> [String] {
    let words = [
      "Зюзюкин", "Зюзюкина", "Зюзюкину", "Зюзюкиным", "Zyuzyukin", "Ziuziukin", "Евлампи", "Evlampi", "Квазарстро",
      "Kvazarstro", "Трындычихин", "Tryndychikhin", "Trindichihin", "Агафь", "Agafya", "Agafia",
    ]
    let phones = ["79123456789", "9123456789", "912 345", "912-345", "345-67-89", "345 67 89", "(912)", "+7 912"]
    let emails = [otherEmail, leadEmail, "agafya.tryndychikhina", "kvazarstroi.example", "@example.com"]
    let forms = words.flatMap { [$0, $0.lowercased(), $0.uppercased()] }
    return forms + phones + emails + [owner] + ids + ids.map { $0.replacingOccurrences(of: "-", with: "") }
      + ids.map { $0.uppercased() }
  }

  @Test(.timeLimit(.minutes(4)))
  func noCanaryReachesQualityControl() async throws {
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      try await TestSchema.with(database: "deals") { _, dealsSchema in
        try await TestSchema.with(database: "activity") { _, activitySchema in
          try await TestSchema.with(database: "quality-control") { _, qcSchema in
            try await run(schemas: (contactsSchema, dealsSchema, activitySchema, qcSchema))
          }
        }
      }
    }
  }

  func run(schemas: (contacts: String, deals: String, activity: String, qc: String)) async throws {
    let broker = try await PrivateBroker()
    let contactsProcess = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: schemas.contacts)
    defer { contactsProcess.signal(SIGKILL) }
    let dealsProcess = try await ServiceProcess.start("deals", brokers: broker.brokers, schema: schemas.deals)
    defer { dealsProcess.signal(SIGKILL) }
    let activityProcess = try await ServiceProcess.start(
      "activity", brokers: broker.brokers, schema: schemas.activity)
    defer { activityProcess.signal(SIGKILL) }
    // Quality-control as deployed (runtime role), logging everything it may log; no code key.
    let qcProcess = try await ServiceProcess.start(
      "quality-control", brokers: broker.brokers, schema: schemas.qc,
      environment: [
        "CRM_DATABASE_URL": LocalStack.runtimeDatabaseURL("quality-control") + "&search_path=\(schemas.qc)",
        "CRM_MIGRATION_DATABASE_URL": LocalStack.databaseURL("quality-control") + "&search_path=\(schemas.qc)",
        "CRM_LOG_LEVEL": "debug",
      ])
    defer { qcProcess.signal(SIGKILL) }
    #expect(TestIdentity.reviewCodeEnvironment("quality-control").isEmpty)

    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "review-items-canary-test")
    func client(_ service: String, as principal: String) -> GRPCClient<KafkaClientTransport> {
      TestIdentity.kafkaClient(kafka, service: service, as: principal, logger: Self.logger)
    }
    let contactsClient = client("contacts", as: "manager:\(Self.owner)")
    let headClient = client("deals", as: "head_of_sales:head-1")
    let dealsClient = client("deals", as: "manager:\(Self.owner)")
    let activityClient = client("activity", as: "manager:\(Self.owner)")
    let qcHeadClient = client("quality-control", as: "qc_head:qc-head-1")
    let clients = [contactsClient, headClient, dealsClient, activityClient, qcHeadClient]
    var ids: [String] = []
    var leadEmail = ""
    var replies: [String] = []
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in clients { group.addTask { try await client.runConnections() } }
      defer { for client in clients { client.beginGracefulShutdown() } }
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: contactsClient)
      let deals = Crm_Deals_V1_Deals.Client(wrapping: dealsClient)
      let activity = Crm_Activity_V1_Activity.Client(wrapping: activityClient)
      let qc = Crm_Qualitycontrol_V1_QualityControl.Client(wrapping: qcHeadClient)

      // The client (a converted lead), another contact with a phone and an e-mail, and a deal.
      let conversion = try await LeadConversion.run(
        lead: Self.leadName, owner: Self.owner, line: "trailers", pipeline: "Trailer sales",
        stages: [("Request", 10), ("Offer", 40)], contacts: contacts,
        headOfSales: Crm_Deals_V1_Deals.Client(wrapping: headClient))
      leadEmail = conversion.lead.email
      let contactID = conversion.converted.contact.id
      let company = try await contacts.createCompany(
        .with {
          $0.name = Self.companyName
          $0.ownerID = Self.owner
        })
      _ = try await contacts.updateContact(
        .with {
          $0.contactID = contactID
          $0.expectedVersion = conversion.converted.contact.version
          $0.card = .with {
            $0.name = Self.leadName
            $0.ownerID = Self.owner
            $0.emails = conversion.converted.contact.emails
            $0.companies = [.with { $0.companyID = company.id }]
          }
        })
      let other = try await contacts.createContact(
        .with {
          $0.name = Self.otherName
          $0.ownerID = Self.owner
          $0.phones = [.with { $0.number = Self.otherPhone }]
          $0.emails = [.with { $0.address = Self.otherEmail }]
        })
      let deal = try await eventually("the converted lead's deal", within: .seconds(60)) {
        () async throws -> Crm_Deals_V1_Deal? in
        do {
          return try await deals.listOpenDealsOfContact(.with { $0.contactID = contactID }).deals.first
        } catch let error as RPCError where error.code == .notFound {
          return nil
        }
      }
      ids = [contactID, company.id, other.id, deal.id, conversion.lead.id]

      // The directory learns names from the contacts events, asynchronously: the reports are
      // logged once activity knows both contacts' names, the company's, and the link (a report
      // written before its client's name reached activity could not be cleared of it).
      let activityDatabase = PostgresClient(
        configuration: try DatabaseURL.parse(LocalStack.databaseURL("activity")), backgroundLogger: Self.logger)
      try await whileRunning(activityDatabase) {
        _ = try await eventually("the names known to activity", within: .seconds(60)) { () async throws -> Bool? in
          let known = try await activityDatabase.count(
            """
            SELECT (SELECT count(DISTINCT id) FROM \(unescaped: "\"\(schemas.activity)\"").known_names)::int
              + (SELECT count(*) FROM \(unescaped: "\"\(schemas.activity)\"").known_contact_companies)::int
            """)
          return known >= 4 ? true : nil
        }
      }
      let reports: [(Crm_Activity_V1_ActivityKind, String)] = [
        (
          .meeting,
          "Встреча с Евлампием Зюзюкиным в офисе Квазарстроя. Зюзюкину понравился прицеп, Evlampiy Zyuzyukin "
            + "просит счёт на \(leadEmail). Бухгалтер Агафья Трындычихина (Agafya Tryndychikhina) на связи: "
            + "+7 912 345-67-89, 8 (912) 345 67 89, 89123456789, \(Self.otherEmail)."
        ),
        (
          .call,
          "Звонок: Зюзюкина интересует рассрочка; Квазарстрою нужен ответ до пятницы. Трындычихиной звонить утром."
        ),
        // Cannot be cleared: a known name glued into another word.
        (.call, "Звонок суперЗюзюкину, перезвонить"),
      ]
      for (index, (kind, text)) in reports.enumerated() {
        _ = try await eventually("report \(index) logged with every name known", within: .seconds(60)) {
          () async throws -> Crm_Activity_V1_ActivityRecord? in
          do {
            return try await activity.logActivity(
              .with {
                $0.kind = kind
                $0.dealID = deal.id
                $0.text = text
              }, metadata: ["crm-request-id": "canary-report-\(index)"])
          } catch let error as RPCError where error.code == .notFound {
            return nil
          }
        }
      }

      // Quality-control has every item (and one of them withheld).
      let coverage = try await eventually("quality-control has the items", within: .seconds(60)) {
        () async throws -> Crm_Qualitycontrol_V1_Coverage? in
        let coverage = try await qc.getCoverage(.init())
        return coverage.received >= 3 ? coverage : nil
      }
      #expect(coverage.received == 3)
      #expect(coverage.withheld == 1)
      replies.append(try coverage.jsonString())
    }

    let canaries = Self.canaries(ids: ids, leadEmail: leadEmail)
    func hits(in text: String) -> [String] { canaries.filter { text.localizedCaseInsensitiveContains($0) } }

    // Every record on the topic quality-control reads.
    let published = try await records(topic: EventTopics.qcReviewItems, kafka: kafka, for: .seconds(20)) {
      $0.count >= 3
    }
    #expect(published.count == 3)
    for (record, envelope) in published {
      let raw = String(decoding: record.value, as: UTF8.self) + String(decoding: record.key ?? [], as: UTF8.self)
      #expect(hits(in: raw).isEmpty, "on \(EventTopics.qcReviewItems): \(hits(in: raw))")
      #expect(envelope.actor == "service:activity")
      let item = try Crm_Qualitycontrol_V1_ReviewItem(serializedBytes: envelope.payload)
      #expect(hits(in: item.redactedText).isEmpty, "\(item.redactedText)")
    }

    // Every row of every table in quality-control's schema, as text.
    let database = PostgresClient(
      configuration: try DatabaseURL.parse(LocalStack.databaseURL("quality-control")), backgroundLogger: Self.logger)
    let dump = try await whileRunning(database) {
      var dump = ""
      let tables = try await database.query(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = \(schemas.qc)",
        logger: Self.logger)
      var names: [String] = []
      for try await name in tables.decode(String.self) { names.append(name) }
      #expect(names.contains("review_items"), "\(names)")
      for name in names {
        let quoted = "\"\(schemas.qc)\".\"\(name)\""
        let rows = try await database.query(
          "SELECT t::text FROM \(unescaped: quoted) t", logger: Self.logger)
        for try await row in rows.decode(String.self) { dump += row + "\n" }
      }
      return dump
    }
    #expect(dump.contains("[CLIENT]") && dump.contains("[PHONE]"), "the cleared texts are there")
    #expect(hits(in: dump).isEmpty, "in quality-control's database: \(hits(in: dump))")
    #expect(hits(in: qcProcess.standardError + qcProcess.standardOutput).isEmpty, "in quality-control's log")
    #expect(hits(in: replies.joined()).isEmpty, "in quality-control's replies")
  }

}
