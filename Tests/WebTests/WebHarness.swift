import CRMContracts
import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMKafka
import CRMReview
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import GRPCInProcessTransport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import ReportingService
import Synchronization

@testable import QualityControlService

/// The web edge on a live port, on a fresh schema of the real reporting database (reporting's
/// projections and the web edge's tables; the dashboard calls reporting's handlers in process),
/// calling a real quality-control (its RPC service on a fresh schema of its own database, in process,
/// behind its token checks and access policy) as the signed-in person.
struct WebHarness: Sendable {
  static let logger = Logger(label: "web-test")
  static let password = "correct horse battery"

  let client: any TestClientProtocol
  let store: WebStore
  let database: PostgresClient
  let qualityControlDatabase: PostgresClient
  let qc: Crm_Qualitycontrol_V1_QualityControl.Client<InProcessTransport.Client>
  let settings: WebSettings

  var port: Int { client.port ?? 0 }

  static func with(secureCookies: Bool = false, _ body: @Sendable (WebHarness) async throws -> Void) async throws {
    try await TestSchema.with(database: "reporting") { makeReporting in
      let database = makeReporting()
      try await whileRunning(database) {
        try await MigrationRunner.apply(
          ServiceApplication.kitMigrations + ReportingComponents.migrations + WebEdge.migrations, on: database,
          logger: logger)
        try await TestSchema.with(database: "quality-control") { makeQualityControl in
          let qualityControlDatabase = makeQualityControl()
          try await whileRunning(qualityControlDatabase) {
            try await MigrationRunner.apply(
              ServiceApplication.kitMigrations + QualityControlComponents.migrations, on: qualityControlDatabase,
              logger: logger)
            let qcSettings = QualityControlSettings(leaseSeconds: 900, doubleReviewShare: 0)
            let transport = InProcessTransport()
            let server = GRPCServer(
              transport: transport.server,
              services: [
                QualityControlComponents.rpcService(
                  client: qualityControlDatabase, logger: logger, settings: qcSettings)
              ],
              interceptors: RPCServerService.interceptors(
                verifier: TestIdentity.verifier(for: .qualityControl),
                policy: AccessPolicy.diagnostics.merging(QualityControlComponents.access)))
            let grpc = GRPCClient(transport: transport.client)
            try await withThrowingTaskGroup(of: Void.self) { group in
              group.addTask { try await server.serve() }
              group.addTask { try await grpc.runConnections() }
              defer {
                grpc.beginGracefulShutdown()
                server.beginGracefulShutdown()
              }
              let settings = WebSettings(port: 0, secureCookies: secureCookies)
              let store = WebStore(client: database, logger: logger)
              let desk = QualityControlDesk(issuer: TestIdentity.issuer) { _ in grpc }
              let reports = InProcessReports(
                client: database, logger: logger, codes: try ReviewCodes(key: Array(TestIdentity.reviewCodeKey.utf8)))
              let app = try WebEdge.application(
                settings: settings, store: store, desk: desk, reports: reports, logger: logger)
              try await app.test(.live) { client in
                try await body(
                  WebHarness(
                    client: client, store: store, database: database, qualityControlDatabase: qualityControlDatabase,
                    qc: .init(wrapping: grpc), settings: settings))
              }
            }
          }
        }
      }
    }
  }

  /// A user with `WebHarness.password` (hashed at bcrypt's lowest cost: many tests sign in at once).
  func user(_ login: String, name: String, roles: Set<Role>, managerID: String? = nil) async throws {
    try await store.put(
      WebUser(login: login, displayName: name, roles: roles, managerID: managerID),
      passwordHash: await Passwords.hash(Self.password, cost: 4))
  }

  func count(_ query: PostgresQuery) async throws -> Int { try await database.count(query) }

  /// The rubric, defined by the QC head (a token of his own on the call).
  @discardableResult
  func defineRubric() async throws -> Crm_Qualitycontrol_V1_Rubric {
    var metadata = Metadata()
    let token = try await TestIdentity.issuer.token(
      for: TestIdentity.principal("qc_head:head-1"), audience: ["quality-control"])
    metadata.addString(TokenMetadata.scheme + token, forKey: TokenMetadata.key)
    return try await qc.defineRubric(
      .with {
        $0.name = "Отчёт о встрече"
        $0.criteria = [("greeting", "Приветствие", 1, 2), ("needs", "Выявлены потребности", 3, 5)].map {
          key, label, weight, scale in
          .with {
            $0.key = key
            $0.label = label
            $0.weight = Int32(weight)
            $0.scaleMax = Int32(scale)
          }
        }
      }, metadata: metadata)
  }

  /// A review item applied the way quality-control's consumer applies one from the topic.
  func deliver(_ item: Crm_Qualitycontrol_V1_ReviewItem) async throws {
    let event = try OutboxEvent(
      topic: EventTopics.qcReviewItems, aggregateID: item.itemID, aggregateVersion: 1, actor: "service:activity",
      payload: item)
    let received = ReceivedEvent(
      envelope: try Crm_Events_V1_EventEnvelope(serializedBytes: event.envelope),
      record: KafkaConsumerMessage(
        topic: event.topic, partition: 0, offset: 0, key: Array(event.key.utf8), value: event.envelope, headers: []))
    let repository = PostgresQualityControlRepository(
      client: qualityControlDatabase, logger: Self.logger,
      settings: QualityControlSettings(leaseSeconds: 900, doubleReviewShare: 0))
    do {
      try await qualityControlDatabase.withTransaction(logger: Self.logger) { connection in
        try await ReviewItemsHandler(repository: repository).apply(received, on: connection)
      }
    } catch let error as PostgresTransactionError {
      throw error.closureError ?? error
    }
  }

  static func code() -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    return String((0..<16).map { _ in alphabet.randomElement()! })
  }

  static func item(text: String = "[REP] встретился с [CLIENT] из [COMPANY]; перезвонить по [PHONE]")
    -> Crm_Qualitycontrol_V1_ReviewItem
  {
    .with {
      $0.itemID = code()
      $0.kind = .meeting
      $0.occurredAt = .init(date: Date(timeIntervalSinceNow: -3600))
      $0.repCode = code()
      $0.clientCode = code()
      $0.companyCode = code()
      $0.dealCode = code()
      $0.redactedText = text
      $0.context = ["meeting_place": "Офис"]
    }
  }
}

/// A browser of sorts over the test client: keeps the cookies the server sets, follows nothing.
final class WebAgent: Sendable {
  let client: any TestClientProtocol
  private let jar = Mutex<[String: String]>([:])

  init(_ harness: WebHarness) { client = harness.client }

  var cookies: [String: String] { jar.withLock { $0 } }

  func setCookie(_ name: String, _ value: String) { jar.withLock { $0[name] = value } }

  func get(_ path: String) async throws -> TestResponse {
    try await send(path, method: .get, body: nil, contentType: nil)
  }

  /// Posts `fields` as a form (`raw`: a body as it is, e.g. a broken one).
  func post(
    _ path: String, _ fields: [(String, String)] = [], raw: String? = nil,
    contentType: String? = "application/x-www-form-urlencoded"
  ) async throws -> TestResponse {
    let body = raw ?? fields.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
    return try await send(path, method: .post, body: ByteBuffer(string: body), contentType: contentType)
  }

  func send(_ path: String, method: HTTPRequest.Method, body: ByteBuffer?, contentType: String?) async throws
    -> TestResponse
  {
    var headers = HTTPFields()
    let cookieHeader = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
    if !cookieHeader.isEmpty { headers[.cookie] = cookieHeader }
    if let contentType { headers[.contentType] = contentType }
    let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
    for line in response.headers[values: .setCookie] {
      let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let name = String(pair[0])
      let value = pair.count == 2 ? String(pair[1]) : ""
      jar.withLock { $0[name] = line.contains("Max-Age=0") || value.isEmpty ? nil : value }
    }
    return response
  }

  /// Signs in through the form; the response to the form's post.
  @discardableResult
  func signIn(_ login: String, password: String = WebHarness.password) async throws -> TestResponse {
    let page = try await get("/sign-in")
    return try await post("/sign-in", [("csrf", Self.csrf(in: page)), ("login", login), ("password", password)])
  }

  static func encode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
  }

  /// The CSRF token of the page's first form.
  static func csrf(in response: TestResponse) -> String {
    hidden("csrf", in: response) ?? ""
  }

  static func hidden(_ name: String, in response: TestResponse) -> String? {
    let html = String(buffer: response.body)
    guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
    return String(html[range.upperBound...].prefix { $0 != "\"" })
  }
}

extension TestResponse {
  var text: String { String(buffer: body) }
  /// Every header line and the body: what a search for leaks reads.
  var everything: String {
    headers.map { "\($0.name): \($0.value)" }.joined(separator: "\n") + "\n" + text
  }
}
