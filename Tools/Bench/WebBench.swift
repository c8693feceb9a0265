import ArgumentParser
import CRMContracts
import CRMDatabase
import CRMIdentity
import CRMReview
import CRMRuntime
import Foundation
import GRPCCore
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import ReportingService
import ServiceLifecycle
import Synchronization

/// `deploy/local/bench web`: the managers' dashboard page and the funnel JSON at 16 concurrent
/// signed-in clients (issue 17), on the reporting bench's large history (`ReportingBenchLoader`:
/// 1,000,000 deals and 5,000,000 stage transitions by default). The web edge runs as the service
/// composes it, on a loopback port; each client holds its own keep-alive connection and session
/// (the page: signed in through the form; the JSON: a bearer token), half of them heads of sales,
/// half managers (their own figures beside the team's). Targets: `dashboard_p99_ms` ≤ 300,
/// `funnel_json_p99_ms` ≤ 150. Both run twice: as the service runs them (reports kept per state
/// of the projections, `ReportMemo`, and pages per view) and computed on every call (`…_computed`).
struct WebBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "web",
    abstract: "The dashboard page and the funnel JSON at 16 signed-in clients on 1M bulk-loaded deals: p50/p99."
  )

  @OptionGroup var options: ServiceBenchOptions
  @Option(help: "Deals loaded.") var deals = 1_000_000
  @Option(help: "Stage transitions (stage visits) aimed at.") var transitions = 5_000_000
  @Option(help: "Keep the loaded history in this schema of the database and reuse it when it is there (no load).")
  var historySchema: String?
  @Option(help: "Concurrent signed-in clients.") var clients = 16

  static let password = "the bench's web password"
  static let pipelines = ["p-consult", "p-active"]

  func run() async throws {
    bootstrapBenchLogging()
    let logger = Logger(label: "bench-web")
    let figures = try await withBenchSchema(
      database: options.database, maximumConnections: options.poolSize,
      sessionSettings: ReportingComponents.sessionSettings, kept: historySchema, logger: logger
    ) { client in
      try await measure(client: client, logger: logger)
    }
    print(String(format: "loaded in %.1f s", figures["load_s"]!))
    for name in ["dashboard", "funnel_json", "dashboard_computed", "funnel_json_computed"] {
      print(
        String(
          format: "%@ (HTTP, %d clients): %7.1f /s   p50 %7.2f ms   p99 %7.2f ms   errors %.0f",
          name.padding(toLength: 20, withPad: " ", startingAt: 0), clients, figures["\(name)_per_s"]!,
          figures["\(name)_p50_ms"]!, figures["\(name)_p99_ms"]!, figures["\(name)_errors"]!))
    }
    try writeFigures(figures, to: options.json)
  }

  private func measure(client: PostgresClient, logger: Logger) async throws -> [String: Double] {
    try await MigrationRunner.apply(
      ServiceApplication.kitMigrations + ReportingComponents.migrations + WebEdge.migrations, on: client,
      logger: logger)
    let codes = try ReviewCodes(key: Array(repeating: 7, count: 32))
    print("loading \(deals) deals, about \(transitions) stage transitions …")
    let started = ContinuousClock.now
    let loader = ReportingBenchLoader(deals: deals, transitions: transitions, codes: codes, now: Date())
    if try await !loader.loadOnce(client: client, logger: logger) { print("  (kept from an earlier run)") }
    _ = try await client.query("ANALYZE", logger: logger).collect()
    let loaded = (ContinuousClock.now - started).seconds

    let store = WebStore(client: client, logger: logger)
    let hash = await Passwords.hash(try Passwords.checked(Self.password))
    var logins: [String] = []
    for index in 0..<clients {
      let manager = index % 2 == 1
      let login = "bench-\(manager ? "manager" : "head")-\(index)"
      _ = try await store.put(
        try WebUser(
          login: login, displayName: manager ? "Менеджер \(index)" : "Руководитель \(index)",
          roles: manager ? [.manager] : [.headOfSales],
          managerID: manager ? ReportingBenchLoader.manager(index % ReportingBenchLoader.managers) : nil),
        passwordHash: hash)
      logins.append(login)
    }
    var figures: [String: Double] = [
      "deals": Double(deals), "transitions": Double(transitions), "load_s": loaded, "clients": Double(clients),
    ]
    for kept in [true, false] {
      let reports = InProcessReports(client: client, logger: logger, codes: codes, memo: kept ? ReportMemo() : nil)
      let suffix = kept ? "" : "_computed"
      for (name, result) in try await measure(reports, store: store, logins: logins, named: suffix, logger: logger) {
        figures["\(name)\(suffix)_per_s"] = result.callsPerSecond
        figures["\(name)\(suffix)_p50_ms"] = result.percentile(0.5)
        figures["\(name)\(suffix)_p99_ms"] = result.percentile(0.99)
        figures["\(name)\(suffix)_errors"] = Double(result.errors)
      }
    }
    figures["rss_mb"] = peakResidentMegabytes()
    return figures
  }

  /// The two phases on a web edge of its own with `reports` (kept or computed on every call).
  private func measure(
    _ reports: InProcessReports, store: WebStore, logins: [String], named suffix: String, logger: Logger
  ) async throws -> [(String, LoadResult)] {
    // Below Linux's ephemeral ports (as the activity bench's webhook server).
    let port = Int.random(in: 20_000..<32_000)
    let app = try WebEdge.application(
      settings: WebSettings(port: port), store: store, desk: NoReviewDesk(), reports: reports, logger: logger)
    let group = ServiceGroup(
      configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      defer { Task { await group.triggerGracefulShutdown() } }
      let deadline = ContinuousClock.now + .seconds(15)
      while !PortProbe.accepts(port: port) {
        guard ContinuousClock.now < deadline else { throw WebServerDown(port: port) }
        try await Task.sleep(for: .milliseconds(50))
      }
      let agents = logins.map { _ in WebBenchAgent(TestClient(host: "127.0.0.1", port: port)) }
      for (agent, login) in zip(agents, logins) {
        agent.client.connect()
        try await agent.signIn(login, password: Self.password)
      }
      print("measuring the dashboard page\(suffix) for \(options.seconds) s at \(clients) clients …")
      let dashboard = try await phase { caller in
        try await agents[caller].page("/dashboard?pipeline=\(Self.pipelines.randomElement()!)")
      }
      print("measuring the funnel JSON\(suffix) for \(options.seconds) s at \(clients) clients …")
      let funnel = try await phase { caller in
        try await agents[caller].json("/api/v1/reports/funnel?pipeline=\(Self.pipelines.randomElement()!)")
      }
      for agent in agents { try? await agent.client.shutdown() }
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
      return [("dashboard", dashboard), ("funnel_json", funnel)]
    }
  }

  /// Two seconds of warm-up, then the measured phase; an answer other than 200 is an error.
  private func phase(_ call: @escaping @Sendable (Int) async throws -> Void) async throws -> LoadResult {
    _ = await LoadGenerator.run(callers: clients, duration: .seconds(2), call)
    return await LoadGenerator.run(callers: clients, duration: .seconds(options.seconds), call)
  }
}

/// One signed-in person over one keep-alive connection: the session cookie for pages, a bearer
/// token for the JSON API.
final class WebBenchAgent: Sendable {
  let client: TestClient
  private let credentials = Mutex<(cookies: [String: String], token: String)>(([:], ""))

  init(_ client: TestClient) { self.client = client }

  /// The form's way (its CSRF token from the page and its cookie), then a token of the API.
  func signIn(_ login: String, password: String) async throws {
    let form = try await send(.get, "/sign-in")
    let html = form.body.map { String(buffer: $0) } ?? ""
    guard let range = html.range(of: "name=\"csrf\" value=\"") else { throw WebBenchFailed(what: "no CSRF token") }
    let csrf = String(html[range.upperBound...].prefix { $0 != "\"" })
    let body = [("csrf", csrf), ("login", login), ("password", password)].map {
      "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0.1)"
    }.joined(separator: "&")
    let signedIn = try await send(
      .post, "/sign-in", body: ByteBuffer(string: body), contentType: "application/x-www-form-urlencoded")
    guard signedIn.status == .seeOther || signedIn.status == .found else {
      throw WebBenchFailed(what: "sign-in of \(login): \(signedIn.status)")
    }
    let credentials = try JSONSerialization.data(withJSONObject: ["login": login, "password": password])
    let issued = try await send(
      .post, "/api/v1/tokens", body: ByteBuffer(bytes: credentials), contentType: "application/json")
    guard issued.status == .created,
      let body = issued.body,
      let reply = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
      let token = reply["token"] as? String
    else { throw WebBenchFailed(what: "token of \(login): \(issued.status)") }
    self.credentials.withLock { $0.token = token }
  }

  func page(_ path: String) async throws {
    let response = try await send(.get, path)
    guard response.status == .ok else { throw WebBenchFailed(what: "\(path): \(response.status)") }
  }

  func json(_ path: String) async throws {
    let token = credentials.withLock { $0.token }
    let response = try await client.execute(.init(path, method: .get, headers: [.authorization: "Bearer \(token)"]))
    guard response.status == .ok else { throw WebBenchFailed(what: "\(path): \(response.status)") }
  }

  private func send(
    _ method: HTTPRequest.Method, _ path: String, body: ByteBuffer? = nil, contentType: String? = nil
  ) async throws -> TestClient.Response {
    var headers = HTTPFields()
    let cookies = credentials.withLock { $0.cookies }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
    if !cookies.isEmpty { headers[.cookie] = cookies }
    if let contentType { headers[.contentType] = contentType }
    let response = try await client.execute(.init(path, method: method, headers: headers, body: body))
    for line in response.headers[values: .setCookie] {
      let pair = line.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      guard pair.count == 2 else { continue }
      credentials.withLock { $0.cookies[String(pair[0])] = String(pair[1]) }
    }
    return response
  }
}

/// The bench asks no reviews: quality-control is not there.
struct NoReviewDesk: ReviewDesk {
  func nextItem(as person: Principal) async throws -> Crm_Qualitycontrol_V1_NextItemReply { throw unavailable }
  func submit(_ review: Crm_Qualitycontrol_V1_SubmitReviewRequest, as person: Principal) async throws
    -> Crm_Qualitycontrol_V1_Review
  { throw unavailable }
  func stats(as person: Principal) async throws -> Crm_Qualitycontrol_V1_ReviewerStats { throw unavailable }
  private var unavailable: RPCError { RPCError(code: .unavailable, message: "no quality-control in the bench") }
}

struct WebBenchFailed: Error, CustomStringConvertible {
  var what: String
  var description: String { "web bench: \(what)" }
}

struct WebServerDown: Error, CustomStringConvertible {
  var port: Int
  var description: String { "the web edge never listened on 127.0.0.1:\(port)" }
}
