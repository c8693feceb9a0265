import CRMContracts
import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMReview
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO

@testable import ReportingService

/// The web edge with its JSON API on a live port, on a fresh schema of the real reporting
/// database holding `APISeed`'s history (applied as the inbox applies a batch); the reports are
/// the reporting handlers in process, as in the executable.
struct APIHarness: Sendable {
  static let logger = Logger(label: "web-api-test")
  static let codes = try! ReviewCodes(key: Array(TestIdentity.reviewCodeKey.utf8))

  let client: any TestClientProtocol
  let store: WebStore
  let database: PostgresClient
  let reports: InProcessReports
  let seed: APISeed

  var port: Int { client.port ?? 0 }

  static func with(_ body: @Sendable (APIHarness) async throws -> Void) async throws {
    try await TestSchema.with(database: "reporting") { makeClient in
      let database = makeClient()
      try await whileRunning(database) {
        try await MigrationRunner.apply(
          ServiceApplication.kitMigrations + ReportingComponents.migrations + WebEdge.migrations, on: database,
          logger: logger)
        let seed = APISeed()
        let events = try seed.history(codes: codes)
        do {
          try await database.withTransaction(logger: logger) { connection in
            try await ReportingEventsHandler(logger: logger).apply(events, on: connection)
          }
        } catch let error as PostgresTransactionError {
          throw error.closureError ?? error
        }
        let store = WebStore(client: database, logger: logger)
        let reports = InProcessReports(client: database, logger: logger, codes: codes)
        let app = try WebEdge.application(
          settings: WebSettings(port: 0), store: store, desk: NoDesk(), reports: reports, logger: logger)
        try await app.test(.live) { client in
          try await body(APIHarness(client: client, store: store, database: database, reports: reports, seed: seed))
        }
      }
    }
  }

  /// A user with `WebHarness.password` (bcrypt's lowest cost).
  func user(_ login: String, roles: Set<Role>, managerID: String? = nil) async throws {
    try await store.put(
      WebUser(login: login, displayName: "Имя \(login)", roles: roles, managerID: managerID),
      passwordHash: await Passwords.hash(WebHarness.password, cost: 4))
  }

  /// `POST /api/v1/tokens` with `body` as it is.
  func postToken(_ body: String, contentType: String? = "application/json") async throws -> TestResponse {
    var headers = HTTPFields()
    if let contentType { headers[.contentType] = contentType }
    return try await client.execute(
      uri: "/api/v1/tokens", method: .post, headers: headers, body: ByteBuffer(string: body))
  }

  /// A bearer token of `login` (signed in with `WebHarness.password`).
  func token(_ login: String) async throws -> String {
    let response = try await postToken(#"{"login": "\#(login)", "password": "\#(WebHarness.password)"}"#)
    guard response.status == .created, let object = try response.json(), let token = object["token"] as? String else {
      throw APIHarnessError(description: "no token for \(login): \(response.status) \(response.text)")
    }
    return token
  }

  func get(_ path: String, token: String?, headers extra: HTTPFields = [:]) async throws -> TestResponse {
    var headers = extra
    if let token { headers[.authorization] = "Bearer \(token)" }
    return try await client.execute(uri: path, method: .get, headers: headers, body: nil)
  }

  /// The reply of a reporting handler called directly as `principal`, for comparison.
  func rpc<Reply: Sendable>(
    _ method: String, as principal: String, _ handler: (ReportingRPCService, ServerContext) async throws -> Reply
  ) async throws -> Reply {
    try await reports.call(method, as: TestIdentity.principal(principal), handler)
  }
}

struct APIHarnessError: Error, CustomStringConvertible {
  var description: String
}

/// The API's tests review nothing.
struct NoDesk: ReviewDesk {
  func nextItem(as person: Principal) async throws -> Crm_Qualitycontrol_V1_NextItemReply {
    throw RPCError(code: .unavailable, message: "no desk")
  }
  func submit(_ review: Crm_Qualitycontrol_V1_SubmitReviewRequest, as person: Principal) async throws
    -> Crm_Qualitycontrol_V1_Review
  {
    throw RPCError(code: .unavailable, message: "no desk")
  }
  func stats(as person: Principal) async throws -> Crm_Qualitycontrol_V1_ReviewerStats {
    throw RPCError(code: .unavailable, message: "no desk")
  }
}

extension TestResponse {
  /// The body as a JSON object (nil when it is not one).
  func json() throws -> [String: Any]? {
    try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
  }
}

/// curl against a running executable's JSON API: the status line and headers, then the body.
enum APICurl {
  static func call(_ arguments: [String]) async throws -> String {
    let process = try ChildProcess(
      URL(fileURLWithPath: "/usr/bin/curl"), arguments: ["-sS", "-i", "-m", "30"] + arguments, environment: [:])
    _ = try await process.waitForExit(within: .seconds(35))
    return process.standardOutput
  }

  static func token(_ site: String, login: String, password: String) async throws -> String {
    let answer = try await call([
      "-H", "Content-Type: application/json", "--data", #"{"login": "\#(login)", "password": "\#(password)"}"#,
      "\(site)/api/v1/tokens",
    ])
    let body = answer.components(separatedBy: "\r\n\r\n").last ?? ""
    guard answer.hasPrefix("HTTP/1.1 201"),
      let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
      let token = object["token"] as? String
    else {
      throw APIHarnessError(description: "no token: \(answer)")
    }
    return token
  }
}
