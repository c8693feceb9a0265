import CRMContracts
import CRMKafka
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// Leads converted while the broker is lost and replaced by an empty one (the local broker keeps
/// records in memory only): every converted lead still gets exactly one deal, and both services
/// are ready again without a restart. Calls that fail while the broker is away are repeated with
/// the same `crm-request-id`, so a repeat whose first delivery did land creates nothing twice.
@Suite("Lead to deal across a broker restart")
struct LeadToDealBrokerRestartTests {
  static let logger = Logger(label: "lead-to-deal-restart-test")

  @Test(.timeLimit(.minutes(10))) func everyConvertedLeadGetsExactlyOneDealAndBothServicesRecover() async throws {
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      try await TestSchema.with(database: "deals") { _, dealsSchema in
        try await run(contactsSchema: contactsSchema, dealsSchema: dealsSchema)
      }
    }
  }

  func run(contactsSchema: String, dealsSchema: String) async throws {
    let broker = try await RestartableBroker()
    let ports = (contacts: freeLocalPort(), deals: freeLocalPort())
    // Info level: what each service did about the lost broker shows in a failure's report.
    let settings = ["CRM_LOG_LEVEL": "info", "SWIFT_BACKTRACE": "enable=yes,interactive=no"]
    let contactsProcess = try await ServiceProcess.start(
      "contacts", brokers: broker.brokers, schema: contactsSchema,
      environment: settings.merging(["CRM_HTTP_PORT": "\(ports.contacts)"]) { $1 })
    defer { contactsProcess.signal(SIGKILL) }
    let dealsProcess = try await ServiceProcess.start(
      "deals", brokers: broker.brokers, schema: dealsSchema,
      environment: settings.merging(["CRM_HTTP_PORT": "\(ports.deals)"]) { $1 })
    defer { dealsProcess.signal(SIGKILL) }
    do {
      try await run(broker: broker, ports: ports)
    } catch {
      check(false, "\(error)")
    }
    await broker.stop()
    // Whatever failed, the services' own account of the restart is in the report.
    if failures.withLock({ $0 }) > 0 {
      // A crash report (SWIFT_BACKTRACE) goes to standard output.
      Issue.record(
        """
        contacts (\(Self.state(of: contactsProcess))) standard error:
        \(contactsProcess.standardError.suffix(60_000))
        standard output: \(contactsProcess.standardOutput.suffix(20_000))
        deals (\(Self.state(of: dealsProcess))) standard error:
        \(dealsProcess.standardError.suffix(60_000))
        standard output: \(dealsProcess.standardOutput.suffix(20_000))
        """)
    }
  }

  /// Whether the service still runs, else how it ended.
  static func state(of child: ChildProcess) -> String {
    guard !child.process.isRunning else { return "running" }
    let reason = child.process.terminationReason == .uncaughtSignal ? "signal" : "exit code"
    return "ended: \(reason) \(child.process.terminationStatus)"
  }

  /// Failed checks so far (the services' logs are reported when there are any).
  let failures = Locked(0)

  func check(_ condition: Bool, _ comment: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation)
  {
    guard !condition else { return }
    failures.withLock { $0 += 1 }
    Issue.record(Comment(rawValue: comment()), sourceLocation: sourceLocation)
  }

  func run(broker: RestartableBroker, ports: (contacts: Int, deals: Int)) async throws {
    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "lead-to-deal-restart-test")
    // An operator: pipelines, leads and conversions in one client.
    func client(_ service: String) -> GRPCClient<KafkaClientTransport> {
      TestIdentity.kafkaClient(kafka, service: service, as: "operator:restart-test", logger: Self.logger)
    }
    let contactsClient = client("contacts")
    let dealsClient = client("deals")
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await contactsClient.runConnections() }
      group.addTask { try await dealsClient.runConnections() }
      defer {
        contactsClient.beginGracefulShutdown()
        dealsClient.beginGracefulShutdown()
      }
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: contactsClient)
      let deals = Crm_Deals_V1_Deals.Client(wrapping: dealsClient)
      let line = "restart-\(UUID().uuidString.prefix(8).lowercased())"
      let pipeline = try await repeated("define") { metadata, options in
        try await deals.definePipeline(
          .with {
            $0.businessLine = line
            $0.name = "Restart sales"
            $0.stages = [("Request", 10), ("Contract", 80)].map { name, probability in
              .with {
                $0.name = name
                $0.result = "\(name) done"
                $0.defaultProbability = Int32(probability)
              }
            }
          }, metadata: metadata, options: options)
      }

      var converted: [String] = []  // contact ids
      func convertOne(_ index: Int) async throws {
        let lead = try await repeated("lead-\(index)") { metadata, options in
          try await contacts.createLead(
            .with {
              $0.name = "Лид \(index)"
              $0.email = "lead-\(index)-\(line)@example.com"
              $0.ownerID = "manager-3"
              $0.businessLine = line
            }, metadata: metadata, options: options)
        }
        let reply = try await repeated("convert-\(index)") { metadata, options in
          try await contacts.convertLead(
            .with {
              $0.leadID = lead.id
              $0.pipelineID = pipeline.id
              $0.expectedVersion = lead.version
            }, metadata: metadata, options: options)
        }
        converted.append(reply.contact.id)
      }
      for index in 0..<5 { try await convertOne(index) }
      // Lost before the deals service may have read the last conversions: their events must
      // reach it again from the contacts service's kept outbox rows.
      try await broker.restart()
      let restartedAt = ContinuousClock.now
      Self.logger.notice("broker restarted empty")
      for index in 5..<10 { try await convertOne(index) }
      let convertedAfter = ContinuousClock.now - restartedAt

      var readyAfter: [String: Duration] = [:]
      for (name, port) in [("contacts", ports.contacts), ("deals", ports.deals)] {
        let url = "http://127.0.0.1:\(port)/health/ready"
        let ready = try await HTTPProbe.waitForStatus(url, 200, within: .seconds(60))
        readyAfter[name] = ContinuousClock.now - restartedAt
        let report = await HTTPProbe.get(url)
        check(
          ready == 200,
          "\(name) is not ready again 60 s after the broker came back: \(report.map { "\($0.status) \($0.body)" } ?? "no answer")"
        )
      }
      // One deadline for all: a missing deal fails the test in a minute, not a minute each.
      let dealsDeadline = ContinuousClock.now + .seconds(60)
      for contact in converted {
        let opened = try await openDeals(of: contact, deals: deals, until: dealsDeadline)
        check(opened.count == 1, "contact \(contact) has \(opened.count) open deals")
      }
      let dealsAfter = ContinuousClock.now - restartedAt
      check(Set(converted).count == 10, "\(Set(converted).count) distinct converted contacts, not 10")
      // A late second delivery would show now: still one deal each.
      try await Task.sleep(for: .seconds(3))
      for contact in converted {
        let opened = try await deals.listOpenDealsOfContact(.with { $0.contactID = contact }).deals
        check(opened.count == 1, "contact \(contact) has \(opened.count) open deals (3 s later)")
      }
      Self.logger.notice(
        """
        after the restart: 5 leads converted in \(convertedAfter); contacts ready by \(readyAfter["contacts"]!), \
        deals ready by \(readyAfter["deals"]!); every deal there by \(dealsAfter)
        """)
    }
  }

  /// `call` until it answers, for up to 90 s, each try with the same request id: while the
  /// broker is away calls fail (UNAVAILABLE, DEADLINE_EXCEEDED); a repeat of a call that did
  /// land answers its first result.
  func repeated<Reply>(
    _ requestID: String,
    _ call: (_ metadata: Metadata, _ options: CallOptions) async throws -> Reply
  ) async throws -> Reply {
    var options = CallOptions.defaults
    options.timeout = .seconds(10)
    let metadata: Metadata = ["crm-request-id": "\(requestID)-\(UUID().uuidString.prefix(4))"]
    let deadline = ContinuousClock.now + .seconds(90)
    while true {
      do {
        return try await call(metadata, options)
      } catch let error as RPCError where [.unavailable, .deadlineExceeded].contains(error.code) {
        guard ContinuousClock.now < deadline else { throw error }
        try await Task.sleep(for: .milliseconds(500))
      }
    }
  }

  /// The contact's open deals once the deals service knows the contact and has one, or at `deadline`.
  func openDeals(
    of contactID: String, deals: Crm_Deals_V1_Deals.Client<KafkaClientTransport>,
    until deadline: ContinuousClock.Instant
  ) async throws -> [Crm_Deals_V1_Deal] {
    while true {
      do {
        let found = try await deals.listOpenDealsOfContact(.with { $0.contactID = contactID }).deals
        if !found.isEmpty || ContinuousClock.now >= deadline { return found }
      } catch let error as RPCError where [.notFound, .unavailable, .deadlineExceeded].contains(error.code) {
        guard ContinuousClock.now < deadline else { return [] }
      }
      try await Task.sleep(for: .milliseconds(200))
    }
  }
}
