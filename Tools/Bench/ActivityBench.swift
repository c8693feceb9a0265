import ActivityService
import ArgumentParser
import CRMContracts
import CRMDatabase
import CRMKafka
import CRMRuntime
import Foundation
import GRPCCore
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import ServiceLifecycle

/// `deploy/local/bench activity`: LogActivity over the Kafka transport at 64 callers beside Echo
/// over Kafka in the same run (`activity_vs_echo`), and signed telephony webhooks over HTTP from
/// 16 concurrent senders (each a known contact's finished call: a stored call, an activity and
/// its event) beside PostgreSQL's single-row insert transactions from 16 clients
/// (`webhook_vs_pg`), on a schema of the bench's own with 1,000 known contacts.
struct ActivityBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "activity",
    abstract: "LogActivity over Kafka vs Echo; signed webhooks over HTTP vs PostgreSQL's single-row insert rate."
  )

  @OptionGroup var options: ServiceBenchOptions
  @Option(help: "Concurrent webhook senders.") var senders = 16
  @Option(help: "Known contacts (each with a phone) in the schema.") var contacts = 1_000

  static let secret = Array("the bench's webhook secret, 32 bytes".utf8)

  func run() async throws {
    bootstrapBenchLogging()
    let logger = Logger(label: "bench-activity")
    let suffix = UUID().uuidString.prefix(8).lowercased()
    let kafka = KafkaConfiguration(bootstrapServers: [options.brokers], clientID: "bench-activity")
    let service = "bench-activity-\(suffix)"
    let figures = try await withBenchSchema(
      database: options.database, maximumConnections: options.poolSize, logger: logger
    ) { client in
      try await measure(client: client, kafka: kafka, service: service, logger: logger)
    }
    print(
      String(
        format: "log activity (Kafka, %d callers): %7.0f calls/s   p50 %6.2f ms   p99 %6.2f ms   errors %.0f",
        options.callers, figures["activity_per_s"]!, figures["activity_p50_ms"]!, figures["activity_p99_ms"]!,
        figures["activity_errors"]!))
    print(
      String(
        format: "echo (Kafka, %d callers):         %7.0f calls/s   p50 %6.2f ms   p99 %6.2f ms   errors %.0f",
        options.callers, figures["echo_per_s"]!, figures["echo_p50_ms"]!, figures["echo_p99_ms"]!,
        figures["echo_errors"]!))
    print(String(format: "activity vs echo: %.3f", figures["activity_vs_echo"]!))
    print(
      String(
        format: "signed webhooks (HTTP, %d senders): %7.0f /s   p50 %6.2f ms   p99 %6.2f ms   errors %.0f",
        senders, figures["webhooks_per_s"]!, figures["webhook_p50_ms"]!, figures["webhook_p99_ms"]!,
        figures["webhook_errors"]!))
    print(String(format: "pg single-row insert tx (%d clients): %.0f/s", senders, figures["pg_single_row_tx_per_s"]!))
    print(String(format: "webhook vs pg: %.3f", figures["webhook_vs_pg"]!))
    try writeFigures(figures, to: options.json)
  }

  private func measure(client: PostgresClient, kafka: KafkaConfiguration, service: String, logger: Logger)
    async throws -> [String: Double]
  {
    try await MigrationRunner.apply(
      ServiceApplication.kitMigrations + ActivityComponents.migrations, on: client, logger: logger)
    // The directory as the contacts events would have filled it: contacts with one phone each.
    _ = try await client.query(
      """
      INSERT INTO known_contacts (id, owner_id, archived)
      SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'manager-' || (i % 20), false
      FROM generate_series(0, \(contacts - 1)) i
      """, logger: logger
    ).collect()
    _ = try await client.query(
      """
      INSERT INTO contact_addresses (address, contact_id)
      SELECT \(NameGenerator.phone(0).dropLast(7).description) || lpad(i::text, 7, '0'),
             ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid
      FROM generate_series(0, \(contacts - 1)) i
      """, logger: logger
    ).collect()
    let contactIDs = (0..<contacts).map { String(format: "00000000-0000-4000-8000-%012d", $0) }
    // Calls with text become review items too, as on a real system (a bench key: codes mean nothing).
    let rpc = ActivityComponents.rpcService(
      client: client, logger: logger, review: try ReviewSettings(key: Array(repeating: 7, count: 32)))

    print("measuring Echo for \(options.seconds) s at \(options.callers) callers over Kafka …")
    let echo = try await withKafkaPhase(
      "echo", rpc: DiagnosticsService(service: .activity), kafka: kafka, service: service,
      fetchWaitMs: options.fetchWaitMs, logger: logger
    ) { remote in
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: remote)
      return await warmedUp { _ = try await diagnostics.echo(.with { $0.text = "bench" }) }
    }
    print("measuring LogActivity for \(options.seconds) s at \(options.callers) callers over Kafka …")
    let logged = try await withKafkaPhase(
      "log", rpc: rpc, kafka: kafka, service: service, fetchWaitMs: options.fetchWaitMs, logger: logger
    ) { remote in
      let activity = Crm_Activity_V1_Activity.Client(wrapping: remote)
      return await warmedUp {
        _ = try await activity.logActivity(
          .with {
            $0.kind = .call
            $0.contactID = contactIDs.randomElement()!
            $0.text = "Called about the trailer delivery date"
          })
      }
    }
    print("measuring signed webhooks for \(options.seconds) s from \(senders) senders over HTTP …")
    let webhooks = try await webhookLoad(client: client, logger: logger)
    print("measuring PostgreSQL single-row insert transactions (\(senders) clients) …")
    let pg = try await singleRowInserts(client: client, logger: logger)
    return [
      "callers": Double(options.callers),
      "senders": Double(senders),
      "contacts": Double(contacts),
      "in_process": 0,
      "activity_per_s": logged.callsPerSecond,
      "activity_p50_ms": logged.percentile(0.5),
      "activity_p99_ms": logged.percentile(0.99),
      "activity_errors": Double(logged.errors),
      "echo_per_s": echo.callsPerSecond,
      "echo_p50_ms": echo.percentile(0.5),
      "echo_p99_ms": echo.percentile(0.99),
      "echo_errors": Double(echo.errors),
      "activity_vs_echo": logged.callsPerSecond / echo.callsPerSecond,
      "webhooks_per_s": webhooks.callsPerSecond,
      "webhook_p50_ms": webhooks.percentile(0.5),
      "webhook_p99_ms": webhooks.percentile(0.99),
      "webhook_errors": Double(webhooks.errors),
      "pg_single_row_tx_per_s": pg,
      "webhook_vs_pg": webhooks.callsPerSecond / pg,
      "rss_mb": peakResidentMegabytes(),
    ]
  }

  /// Two seconds of warm-up (group joined, reply topic ready, connections pooled), then the phase.
  private func warmedUp(_ call: @escaping @Sendable () async throws -> Void) async -> LoadResult {
    _ = await LoadGenerator.run(callers: options.callers, duration: .seconds(2), call)
    return await LoadGenerator.run(callers: options.callers, duration: .seconds(options.seconds), call)
  }

  /// The service's webhook routes on a loopback port of their own; each sender posts finished
  /// calls of random known contacts, each with a new event id, signed as a provider would.
  private func webhookLoad(client: PostgresClient, logger: Logger) async throws -> LoadResult {
    let router = Router(context: BasicRequestContext.self)
    ActivityComponents.addWebhookRoutes(to: router, secret: Self.secret, client: client, logger: logger)
    // Below Linux's ephemeral ports (32768–60999): in 30,000–40,000 the server twice never
    // listened in 20 runs on a busy machine (the port most likely an outgoing connection's).
    let port = Int.random(in: 20_000..<32_000)
    let app = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
    let group = ServiceGroup(
      configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [], logger: logger))
    let events = Counter()
    let contacts = self.contacts
    // One keep-alive connection per sender (NIO, as a provider's HTTP client would hold).
    let clients = (0..<senders).map { _ in TestClient(host: "127.0.0.1", port: port) }
    let post: @Sendable (Int) async throws -> Void = { sender in
      let index = Int.random(in: 0..<contacts)
      // Written as a provider's template would be, not by JSONSerialization (its bridging cost
      // the senders, who share the machine and the process with the service, more CPU than
      // the service's whole check of the body); a format style, not a formatter made per post.
      let body = Array(
        """
        {"event_id":"bench-\(events.next())","event":"ended","direction":"in",\
        "from":"\(NameGenerator.phone(index))","to":"+74951234567","duration_s":95,\
        "occurred_at":"\(Date().formatted(.iso8601))"}
        """.utf8)
      let timestamp = Int64(Date().timeIntervalSince1970)
      let headers: HTTPFields = [
        .contentType: "application/json", .init("X-CRM-Timestamp")!: "\(timestamp)",
        .init("X-CRM-Signature")!: ActivityComponents.webhookSignature(
          body, secret: Self.secret, timestamp: timestamp),
      ]
      let response = try await clients[sender].post(
        "/webhooks/telephony", headers: headers, body: ByteBuffer(bytes: body))
      guard response.head.status == .ok else { throw WebhookFailed() }
    }
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      defer { Task { await group.triggerGracefulShutdown() } }
      // Until it accepts connections; a server that never does (its port taken: the group's
      // error surfaces only at the end) fails the bench instead of hanging it.
      let deadline = ContinuousClock.now + .seconds(15)
      while !PortProbe.accepts(port: port) {
        guard ContinuousClock.now < deadline else { throw WebhookServerDown(port: port) }
        try await Task.sleep(for: .milliseconds(50))
      }
      for client in clients { client.connect() }
      _ = await LoadGenerator.run(callers: senders, duration: .seconds(2), post)
      let result = await LoadGenerator.run(callers: senders, duration: .seconds(options.seconds), post)
      for client in clients { try? await client.shutdown() }
      await group.triggerGracefulShutdown()
      try await tasks.waitForAll()
      return result
    }
  }

  struct WebhookFailed: Error {}
  struct WebhookServerDown: Error { var port: Int }

  /// Autocommitted single-row inserts from `senders` clients for the phase's length.
  private func singleRowInserts(client: PostgresClient, logger: Logger) async throws -> Double {
    _ = try await client.query(
      "CREATE TABLE raw_inserts (id bigserial PRIMARY KEY, name text NOT NULL, payload bytea NOT NULL)",
      logger: logger
    ).collect()
    let payload = ByteBuffer(bytes: [UInt8](repeating: 42, count: 200))
    let result = await LoadGenerator.run(callers: senders, duration: .seconds(options.seconds)) {
      _ = try await client.query(
        "INSERT INTO raw_inserts (name, payload) VALUES (\("Иван Петров"), \(payload))", logger: logger
      ).collect()
    }
    return result.callsPerSecond
  }
}

/// Whether something accepts TCP connections on a loopback port.
enum PortProbe {
  static func accepts(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
  }
}
