import CRMContracts
import CRMEvents
import CRMKafka
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// The web edge as deployed: the reporting executable with `CRM_WEB_PORT`, its user made by the
/// operator's `reporting users put`, calling the quality-control executable over the broker as
/// the signed-in reviewer (a reply topic of his own).
@Suite("Web edge: the reporting executable")
struct WebProcessTests {
  static let logger = Logger(label: "web-process-test")

  @Test(.timeLimit(.minutes(4)))
  func aReviewerCreatedByTheOperatorReviewsThroughTheExecutables() async throws {
    try await TestSchema.with(database: "quality-control") { _, qcSchema in
      try await TestSchema.with(database: "reporting") { _, reportingSchema in
        try await run(qcSchema: qcSchema, reportingSchema: reportingSchema)
      }
    }
  }

  func run(qcSchema: String, reportingSchema: String) async throws {
    let broker = try await PrivateBroker()
    let qc = try await ServiceProcess.start(
      "quality-control", brokers: broker.brokers, schema: qcSchema, environment: ["CRM_QC_DOUBLE_REVIEW_SHARE": "0"])
    defer { qc.signal(SIGKILL) }
    let webPort = freeLocalPort()
    let reporting = try await ServiceProcess.start(
      "reporting", brokers: broker.brokers, schema: reportingSchema, environment: ["CRM_WEB_PORT": "\(webPort)"])
    defer { reporting.signal(SIGKILL) }

    // The operator's command: the password on standard input.
    let databaseURL = LocalStack.databaseURL("reporting") + "&search_path=\(reportingSchema)"
    #expect(
      try await Self.usersCommand(
        ["put", "reviewer-9", "--name", "Проверяющий", "--roles", "qc_reviewer"], input: "reviewer password 9\n",
        databaseURL: databaseURL) == 0)
    #expect(
      try await Self.usersCommand(
        ["put", "mixed", "--name", "X", "--roles", "qc_reviewer,manager", "--manager-id", "m-1"],
        input: "some password 1\n", databaseURL: databaseURL) == 2)

    // A rubric and an item, the way the QC head and activity make them.
    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "web-process-test")
    let producer = try KafkaProducer(configuration: kafka, logger: Self.logger)
    let event = try OutboxEvent(
      topic: EventTopics.qcReviewItems, aggregateID: "ITEMCODE44444444", aggregateVersion: 1,
      actor: "service:activity",
      payload: Crm_Qualitycontrol_V1_ReviewItem.with {
        $0.itemID = "ITEMCODE44444444"
        $0.kind = .call
        $0.occurredAt = .init(date: Date(timeIntervalSinceNow: -600))
        $0.repCode = "REPCODEBBBBBBBBB"
        $0.clientCode = "CLIENTCODE234567"
        $0.redactedText = "[REP] позвонил [CLIENT]"
      })
    _ = try await producer.send(
      batch: [KafkaProducerMessage(topic: event.topic, key: Array(event.key.utf8), value: event.envelope)])
    await producer.shutdown()
    let head = TestIdentity.kafkaClient(kafka, service: "quality-control", as: "qc_head:head-1", logger: Self.logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await head.runConnections() }
      defer { head.beginGracefulShutdown() }
      _ = try await Crm_Qualitycontrol_V1_QualityControl.Client(wrapping: head).defineRubric(
        .with {
          $0.name = "Звонки"
          $0.criteria = [
            .with {
              $0.key = "greeting"
              $0.label = "Приветствие"
              $0.weight = 1
              $0.scaleMax = 2
            }
          ]
        })
    }

    let site = "http://127.0.0.1:\(webPort)"
    let browser = try CurlBrowser()
    let signIn = try await browser.get("\(site)/sign-in")
    let signedIn = try await browser.post(
      "\(site)/sign-in",
      ["csrf": CurlBrowser.hidden("csrf", in: signIn), "login": "reviewer-9", "password": "reviewer password 9"])
    #expect(signedIn.contains("303"), "\(signedIn)")
    let workspace = try await browser.get("\(site)/review")
    #expect(workspace.contains("<td id=\"reviews-submitted\">0</td>"), "\(workspace)")
    // The item arrives through quality-control's consumer: ask until it is there.
    let item = try await eventually("the item in the reviewer's queue", within: .seconds(60), every: .milliseconds(500))
    {
      let page = try await browser.post("\(site)/review/next", ["csrf": CurlBrowser.hidden("csrf", in: workspace)])
      return page.contains("[REP] позвонил [CLIENT]") ? page : nil
    }
    let submitted = try await browser.post(
      "\(site)/review/submit",
      [
        "csrf": CurlBrowser.hidden("csrf", in: item), "item_id": CurlBrowser.hidden("item_id", in: item),
        "lease_id": CurlBrowser.hidden("lease_id", in: item), "score.greeting": "2",
      ])
    #expect(submitted.contains("303"), "\(submitted)")
    #expect(try await browser.get("\(site)/review").contains("<td id=\"reviews-submitted\">1</td>"))

    // The JSON API of the same executable: its document, a token for the reviewer, no report for him.
    #expect(try await APICurl.call(["\(site)/openapi.yaml"]).contains("openapi: 3.0.3"))
    let token = try await APICurl.token(site, login: "reviewer-9", password: "reviewer password 9")
    let refused = try await APICurl.call(["-H", "Authorization: Bearer \(token)", "\(site)/api/v1/reports/leaderboard"])
    #expect(refused.hasPrefix("HTTP/1.1 403"), "\(refused)")
  }

  static func usersCommand(_ arguments: [String], input: String, databaseURL: String) async throws -> Int32 {
    let process = Process()
    process.executableURL = LocalStack.binDirectory.appendingPathComponent("reporting")
    process.arguments = ["users"] + arguments
    process.environment = ["CRM_DATABASE_URL": databaseURL]
    let stdin = Pipe()
    process.standardInput = stdin
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
    return process.terminationStatus
  }
}

/// curl with a cookie jar: the answer's status line and headers, then the body.
struct CurlBrowser {
  let jar = FileManager.default.temporaryDirectory.appendingPathComponent("web-jar-\(UUID().uuidString)").path

  init() throws {}

  func get(_ url: String) async throws -> String { try await curl([url]) }

  func post(_ url: String, _ fields: [String: String]) async throws -> String {
    try await curl(fields.flatMap { ["--data-urlencode", "\($0.key)=\($0.value)"] } + [url])
  }

  private func curl(_ arguments: [String]) async throws -> String {
    let process = try ChildProcess(
      URL(fileURLWithPath: "/usr/bin/curl"), arguments: ["-sS", "-i", "-m", "30", "-b", jar, "-c", jar] + arguments,
      environment: [:])
    _ = try await process.waitForExit(within: .seconds(35))
    return process.standardOutput
  }

  static func hidden(_ name: String, in page: String) -> String {
    guard let range = page.range(of: "name=\"\(name)\" value=\"") else { return "" }
    return String(page[range.upperBound...].prefix { $0 != "\"" })
  }
}
