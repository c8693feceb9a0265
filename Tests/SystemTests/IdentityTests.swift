import CRMContracts
import CRMEvents
import CRMIdentity
import CRMKafka
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import Testing

/// Issue 13: who is calling. The contacts and deals executables on a broker of the test's own,
/// called as a hostile client would: every call's token is verified, roles and ownership are
/// enforced, replies go only to the caller's own topics, and events come only from their owner.
@Suite("Identity: tokens, roles, ownership")
struct IdentityTests {
  static let logger = Logger(label: "identity-test")

  struct Running {
    var broker: PrivateBroker
    var kafka: KafkaConfiguration
    var contactsSchema: String
    var dealsSchema: String
    var dealsDatabase: PostgresClient
  }

  @Test func everyCallIsVerifiedAndEveryRuleHolds() async throws {
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      try await TestSchema.with(database: "deals") { makeDeals, dealsSchema in
        let broker = try await PrivateBroker()
        let contacts = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: contactsSchema)
        defer { contacts.signal(SIGKILL) }
        let deals = try await ServiceProcess.start("deals", brokers: broker.brokers, schema: dealsSchema)
        defer { deals.signal(SIGKILL) }
        let database = makeDeals()
        try await whileRunning(database) {
          let running = Running(
            broker: broker,
            kafka: KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "identity-test"),
            contactsSchema: contactsSchema, dealsSchema: dealsSchema, dealsDatabase: database)
          try await unverifiedCallsAreUnauthenticated(running)
          try await rolesAndOwnershipAreEnforced(running)
          try await repliesGoOnlyToTheCallersTopics(running)
          try await forgedEventsAreDeadLettered(running)
        }
      }
    }
  }

  /// A client as `principal` (its reply topic is his), or with `token` sent as it is.
  func withClient(
    _ running: Running, _ service: String, as principal: String = "operator:identity-test",
    token: String? = nil, replyAs: String? = nil,
    _ body: (GRPCClient<KafkaClientTransport>) async throws -> Void
  ) async throws {
    let interceptors: [any ClientInterceptor] =
      if let token { [FixedToken(token: token)] } else { [TestIdentity.caller(principal)] }
    let client = GRPCClient(
      transport: KafkaClientTransport(
        configuration: .init(
          kafka: running.kafka, service: service, caller: TestIdentity.principal(replyAs ?? principal),
          defaultTimeout: .seconds(20)),
        logger: Self.logger),
      interceptors: interceptors)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      defer { client.beginGracefulShutdown() }
      try await body(client)
    }
  }

  /// No token, an expired one, one signed by another key, one for another service, one with a
  /// role nobody grants, and garbage: each UNAUTHENTICATED, saying why.
  func unverifiedCallsAreUnauthenticated(_ running: Running) async throws {
    let manager = TestIdentity.principal("manager:m-a")
    let stranger = try TokenIssuer(privateKeyPEM: TokenIssuer.generatedKey())
    let cases: [(String, String?, String)] = [
      ("no token", nil, "carries no token"),
      (
        "expired", try await TestIdentity.issuer.token(for: manager, audience: ["contacts"], lifetime: .seconds(-60)),
        "expired"
      ),
      (
        "another key", try await stranger.token(for: manager, audience: ["contacts"]),
        "not from a trusted key"
      ),
      (
        "another audience", try await TestIdentity.issuer.token(for: manager, audience: ["reporting"]),
        "not for \"contacts\""
      ),
      ("garbage", "not.a.token", "cannot be read"),
    ]
    for (what, token, says) in cases {
      try await withClient(running, "contacts", token: token ?? "") { client in
        let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: client)
        let error = await #expect(throws: RPCError.self, "\(what)") {
          _ = try await contacts.searchContacts(.with { $0.query = "Петров" })
        }
        #expect(error?.code == .unauthenticated, "\(what): \(String(describing: error))")
        #expect(error?.message.contains(says) == true, "\(what): \(String(describing: error?.message))")
      }
    }
  }

  /// Manager A cannot move, estimate or lose manager B's deal (nothing changes) nor open one in
  /// B's name; B can; a head of sales can; only a head of sales defines pipelines; a QC reviewer
  /// reaches no method of contacts or deals; history rows and events name the verified caller.
  func rolesAndOwnershipAreEnforced(_ running: Running) async throws {
    var pipeline = Crm_Deals_V1_Pipeline()
    var deal = Crm_Deals_V1_Deal()
    let definition = Crm_Deals_V1_DefinePipelineRequest.with {
      $0.businessLine = "identity-\(UUID().uuidString.prefix(8))"
      $0.name = "Identity sales"
      $0.stages = ["Request", "Proposal", "Contract"].enumerated().map { index, name in
        .with {
          $0.name = name
          $0.result = "\(name) done"
          $0.defaultProbability = Int32(20 * (index + 1))
        }
      }
      $0.lossReasons = ["Price"]
    }
    try await withClient(running, "deals", as: "manager:m-a") { client in
      let deals = Crm_Deals_V1_Deals.Client(wrapping: client)
      let error = await #expect(throws: RPCError.self) { _ = try await deals.definePipeline(definition) }
      #expect(error?.code == .permissionDenied)
      #expect(error?.message.contains("only a head of sales defines pipelines") == true, "\(String(describing: error))")
    }
    var contactID = ""
    try await withClient(running, "contacts", as: "manager:m-b") { client in
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: client)
      // In someone else's name: refused, nothing created.
      let foreign = await #expect(throws: RPCError.self) {
        _ = try await contacts.createContact(
          .with {
            $0.name = "Чужой Клиент"
            $0.ownerID = "m-a"
          })
      }
      #expect(foreign?.code == .permissionDenied)
      contactID = try await contacts.createContact(
        .with {
          $0.name = "Клиент Б"
          $0.ownerID = "m-b"
        }
      ).id
      let history = try await contacts.getCardHistory(.with { $0.cardID = contactID }).changes
      #expect(!history.isEmpty && history.allSatisfy { $0.actor == "manager:m-b" }, "\(history.map(\.actor))")
    }
    try await withClient(running, "deals", as: "head_of_sales:h-1") { client in
      pipeline = try await Crm_Deals_V1_Deals.Client(wrapping: client).definePipeline(definition)
    }
    // The deals service learns the contact from the contacts events.
    let open = Crm_Deals_V1_OpenDealRequest.with {
      $0.contactID = contactID
      $0.pipelineID = pipeline.id
      $0.ownerID = "m-b"
      $0.kind = .active
      $0.amount = .with {
        $0.minorUnits = 100_000
        $0.currency = "RUB"
      }
    }
    try await withClient(running, "deals", as: "manager:m-a") { client in
      let deals = Crm_Deals_V1_Deals.Client(wrapping: client)
      let inTheirName = await #expect(throws: RPCError.self) { _ = try await deals.openDeal(open) }
      #expect(inTheirName?.code == .permissionDenied, "\(String(describing: inTheirName))")
    }
    try await withClient(running, "deals", as: "manager:m-b") { client in
      let deals = Crm_Deals_V1_Deals.Client(wrapping: client)
      let started = ContinuousClock.now
      while true {
        do {
          deal = try await deals.openDeal(open)
          break
        } catch let error as RPCError where error.code == .notFound && ContinuousClock.now - started < .seconds(30) {
          try await Task.sleep(for: .milliseconds(200))  // the contact's event is on its way
        }
      }
    }
    try await withClient(running, "deals", as: "manager:m-a") { client in
      let deals = Crm_Deals_V1_Deals.Client(wrapping: client)
      let move = await #expect(throws: RPCError.self) {
        _ = try await deals.moveDeal(
          .with {
            $0.dealID = deal.id
            $0.toStageID = pipeline.stages[1].id
            $0.expectedVersion = deal.version
          })
      }
      #expect(move?.code == .permissionDenied)
      #expect(move?.message.contains("belongs to m-b") == true, "\(String(describing: move?.message))")
      let lose = await #expect(throws: RPCError.self) {
        _ = try await deals.loseDeal(
          .with {
            $0.dealID = deal.id
            $0.reason = "Price"
            $0.expectedVersion = deal.version
          })
      }
      #expect(lose?.code == .permissionDenied)
      // Reading is allowed, and shows nothing changed.
      let unchanged = try await deals.getDeal(.with { $0.dealID = deal.id })
      #expect(unchanged.deal.version == deal.version && unchanged.deal.stageID == pipeline.stages[0].id)
      #expect(unchanged.transitions.isEmpty)
    }
    try await withClient(running, "deals", as: "manager:m-b") { client in
      let moved = try await Crm_Deals_V1_Deals.Client(wrapping: client).moveDeal(
        .with {
          $0.dealID = deal.id
          $0.toStageID = pipeline.stages[1].id
          $0.expectedVersion = deal.version
        })
      deal = moved
    }
    try await withClient(running, "deals", as: "head_of_sales:h-1") { client in
      let deals = Crm_Deals_V1_Deals.Client(wrapping: client)
      deal = try await deals.estimateProbability(
        .with {
          $0.dealID = deal.id
          $0.probability = 55
          $0.expectedVersion = deal.version
        })
      let read = try await deals.getDeal(.with { $0.dealID = deal.id })
      #expect(read.transitions.map(\.actor) == ["manager:m-b"])
    }
    let events = try await records(topic: "crm.deals.events", kafka: running.kafka, for: .seconds(20)) {
      $0.filter { $0.envelope.aggregateID == deal.id }.count >= 3
    }.map(\.envelope).filter { $0.aggregateID == deal.id }
    #expect(events.map(\.actor) == ["manager:m-b", "manager:m-b", "head_of_sales:h-1"], "\(events.map(\.type))")

    // The quality-control desk reaches nothing here.
    for service in ["contacts", "deals"] {
      try await withClient(running, service, as: "qc_reviewer:r-1") { client in
        let calls: [(String, () async throws -> Void)] =
          service == "contacts"
          ? [
            (
              "SearchContacts",
              {
                _ = try await Crm_Contacts_V1_Contacts.Client(wrapping: client).searchContacts(
                  .with { $0.query = "Клиент" })
              }
            ),
            (
              "ListBirthdays",
              { _ = try await Crm_Contacts_V1_Contacts.Client(wrapping: client).listBirthdays(.init()) }
            ),
            (
              "Echo", { _ = try await Crm_Common_V1_Diagnostics.Client(wrapping: client).echo(.with { $0.text = "x" }) }
            ),
          ]
          : [
            (
              "GetDeal",
              { _ = try await Crm_Deals_V1_Deals.Client(wrapping: client).getDeal(.with { $0.dealID = deal.id }) }
            )
          ]
        for (method, call) in calls {
          let error = await #expect(throws: RPCError.self, "\(method)") { try await call() }
          #expect(error?.code == .permissionDenied, "\(method): \(String(describing: error))")
          #expect(
            error?.message.contains("qc_reviewer:r-1") == true, "\(method): \(String(describing: error?.message))")
        }
      }
    }
  }

  /// A valid token whose principal is not the reply topic's owner: the request is dead-lettered
  /// and nothing is sent to that topic (the call times out).
  func repliesGoOnlyToTheCallersTopics(_ running: Running) async throws {
    let token = try await TestIdentity.issuer.token(
      for: TestIdentity.principal("manager:m-a"), audience: ["contacts"])
    try await withClient(running, "contacts", token: token, replyAs: "manager:m-b") { client in
      var options = CallOptions.defaults
      options.timeout = .seconds(3)
      let error = await #expect(throws: RPCError.self) {
        _ = try await Crm_Common_V1_Diagnostics.Client(wrapping: client).echo(
          .with { $0.text = "steal" }, options: options)
      }
      #expect(error?.code == .deadlineExceeded, "\(String(describing: error))")
    }
    let letters = try await readAllRecords(
      "crm.dlq.rpc.contacts", partitions: 1, count: 1, kafka: running.kafka, logger: Self.logger)
    let reasons = letters.compactMap { $0.headers.first { $0.key == "crm-dlq-error" }?.value }
      .map { String(decoding: $0, as: UTF8.self) }
    #expect(reasons.contains { $0.contains("not a reply topic of manager:m-a") }, "\(reasons)")
  }

  /// A `DealWon` on the contacts topic (only the contacts service may write there, and it owns no
  /// deal events) is dead-lettered by the deals service's consumer and changes nothing; the
  /// events it applied record their producer.
  func forgedEventsAreDeadLettered(_ running: Running) async throws {
    let forged = try OutboxEvent(
      topic: EventTopics.contacts, aggregateID: UUID().uuidString.lowercased(), aggregateVersion: 9,
      actor: "head_of_sales:h-1",
      payload: Crm_Deals_V1_DealWon.with { $0.deal.id = UUID().uuidString.lowercased() })
    let producer = try KafkaProducer(configuration: running.kafka, logger: Self.logger)
    _ = try await producer.send(
      batch: [KafkaProducerMessage(topic: EventTopics.contacts, key: nil, value: forged.envelope)])
    await producer.shutdown()
    let letters = try await readAllRecords(
      "crm.dlq.deals-contacts", partitions: 1, count: 1, kafka: running.kafka, logger: Self.logger)
    let reasons = letters.compactMap { $0.headers.first { $0.key == "crm-dlq-error" }?.value }
      .map { String(decoding: $0, as: UTF8.self) }
    #expect(
      reasons.contains { $0.contains("crm.deals.v1.DealWon does not belong on crm.contacts.events") }, "\(reasons)")
    let producers = try await values(
      running.dealsDatabase, "SELECT DISTINCT coalesce(producer, '-') FROM inbox", as: String.self)
    #expect(producers == ["service:contacts"], "\(producers)")
  }
}

/// Sends `token` as it is (or no token when empty).
struct FixedToken: ClientInterceptor {
  var token: String

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    if !token.isEmpty { request.metadata.replaceOrAddString(TokenMetadata.scheme + token, forKey: TokenMetadata.key) }
    return try await next(request, context)
  }
}
