import ArgumentParser
import CRMContracts
import CRMDatabase
import CRMIdentity
import CRMKafka
import CRMReview
import CRMRuntime
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import ReportingService
import SwiftProtobuf

/// `deploy/local/bench reporting`: reporting's projections bulk-loaded with a sales history
/// (`ReportingBenchLoader`: 1,000,000 deals, 5,000,000 stage transitions by default), then
/// GetFunnel, GetForecast and GetLeaderboard over the Kafka transport at 16 callers, each in a
/// phase of its own, beside Echo over Kafka in the same run. Callers ask as a head of sales, a
/// share of them as a manager (his own rows and the team's), with a mix of periods and filters.
/// Each report runs three times: as the service runs it (replies kept per state of the
/// projections, `ReportMemo`; the share of calls given a kept reply is printed); the same while
/// the projections change `--changes-per-s` times a second (`…_changing`: every area's version
/// advanced, as a projector committing a batch per poll would); and computed on every call
/// (`…_computed`).
struct ReportingBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reporting",
    abstract: "Funnel, forecast and leaderboard over Kafka on 1M bulk-loaded deals: p50/p99, calls/s, vs Echo."
  )

  @OptionGroup var options: ServiceBenchOptions
  @Option(help: "Deals loaded.") var deals = 1_000_000
  @Option(help: "Stage transitions (stage visits) aimed at.") var transitions = 5_000_000
  @Option(help: "Keep the loaded history in this schema of the database and reuse it when it is there (no load).")
  var historySchema: String?
  @Option(help: "Share of the calls made as a manager (the rest as the head of sales).") var managerShare = 0.25
  @Option(help: "Changes of the projections per second in the `…_changing` phases.") var changesPerSecond = 2

  static let head = "head_of_sales:bench-head"
  static let phases = ["funnel", "forecast", "leaderboard"]

  func run() async throws {
    bootstrapBenchLogging()
    let logger = Logger(label: "bench-reporting")
    let kafka = KafkaConfiguration(bootstrapServers: [options.brokers], clientID: "bench-reporting")
    let service = "bench-reporting-\(UUID().uuidString.prefix(8).lowercased())"
    let figures = try await withBenchSchema(
      database: options.database, maximumConnections: options.poolSize,
      sessionSettings: ReportingComponents.sessionSettings, kept: historySchema, logger: logger
    ) { client in
      try await measure(client: client, kafka: kafka, service: service, logger: logger)
    }
    print(String(format: "loaded in %.1f s, ANALYZE %.1f s", figures["load_s"]!, figures["analyze_s"]!))
    let modes = ["", "_changing", "_computed"]
    for name in modes.flatMap({ mode in Self.phases.map { $0 + mode } }) + ["echo"] {
      print(
        String(
          format: "%@ (Kafka, %d callers): %7.1f calls/s   p50 %7.2f ms   p99 %7.2f ms   errors %.0f",
          name.padding(toLength: 20, withPad: " ", startingAt: 0), options.callers, figures["\(name)_per_s"]!,
          figures["\(name)_p50_ms"]!, figures["\(name)_p99_ms"]!, figures["\(name)_errors"]!))
    }
    for name in Self.phases + Self.phases.map({ $0 + "_changing" }) {
      print(String(format: "%@ kept replies: %.1f%% of calls", name, 100 * figures["\(name)_kept_share"]!))
    }
    try writeFigures(figures, to: options.json)
  }

  private func measure(client: PostgresClient, kafka: KafkaConfiguration, service: String, logger: Logger)
    async throws -> [String: Double]
  {
    try await MigrationRunner.apply(
      ServiceApplication.kitMigrations + ReportingComponents.migrations, on: client, logger: logger)
    let codes = try ReviewCodes(key: Array(repeating: 7, count: 32))
    let now = Date()
    let loader = ReportingBenchLoader(deals: deals, transitions: transitions, codes: codes, now: now)
    print("loading \(deals) deals, about \(transitions) stage transitions …")
    let started = ContinuousClock.now
    if try await !loader.loadOnce(client: client, logger: logger) { print("  (kept from an earlier run)") }
    let loaded = (ContinuousClock.now - started).seconds
    let analyzing = ContinuousClock.now
    _ = try await client.query("ANALYZE", logger: logger).collect()
    let analyzed = (ContinuousClock.now - analyzing).seconds
    var counts: [String: Double] = [:]
    for table in ["deals", "stage_visits", "deal_versions", "leads", "funnel_cells"] {
      let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(table)"), logger: logger)
      counts[table] = Double(try await rows.decode(Int.self).first { _ in true } ?? 0)
    }
    print(
      String(
        format: "  %.0f deals, %.0f stage visits, %.0f deal versions, %.0f leads, %.0f funnel cells in %.1f s",
        counts["deals"]!, counts["stage_visits"]!, counts["deal_versions"]!, counts["leads"]!,
        counts["funnel_cells"]!, loaded))

    let memo = ReportMemo()
    let rpc = ReportingComponents.rpcService(client: client, logger: logger, codes: codes, memo: memo)
    let computing = ReportingComponents.rpcService(client: client, logger: logger, codes: codes, memo: nil)
    let verifier = try TokenVerifier(publicKeysPEM: BenchIdentity.issuer.publicKeyPEM, audience: BenchIdentity.audience)
    let serverInterceptors = RPCServerService.interceptors(verifier: verifier, policy: ReportingComponents.access)
    let managers = (0..<ReportingBenchLoader.managers).map { "manager:" + ReportingBenchLoader.manager($0) }
    let caller = BenchCaller([Self.head] + managers)
    let requests = ReportingBenchRequests(now: now, managerShare: managerShare, managers: managers)

    // One caller in process first: what computing a call costs the service alone, without the
    // broker and without other callers.
    let single = try await withBenchHost(rpc: computing) { local in
      let reporting = Crm_Reporting_V1_Reporting.Client(wrapping: local)
      var means: [String: Double] = [:]
      for phase in ["funnel", "forecast", "leaderboard"] {
        let result = await LoadGenerator.run(callers: 1, duration: .seconds(3)) {
          switch phase {
          case "funnel": _ = try await reporting.getFunnel(requests.funnel())
          case "forecast": _ = try await reporting.getForecast(requests.forecast())
          default: _ = try await reporting.getLeaderboard(requests.leaderboard())
          }
        }
        means[phase] = result.percentile(0.5)
        print(
          String(
            format: "  %@ alone, in process: p50 %.2f ms (%d calls, %d errors)", phase, result.percentile(0.5),
            result.calls, result.errors))
      }
      return means
    }
    print("measuring Echo for \(options.seconds) s at \(options.callers) callers over Kafka …")
    let echo = try await withKafkaPhase(
      "echo", rpc: DiagnosticsService(service: .reporting), kafka: kafka, service: service,
      fetchWaitMs: options.fetchWaitMs, logger: logger
    ) { remote in
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: remote)
      return await warmedUp { _ = try await diagnostics.echo(.with { $0.text = "bench" }) }
    }
    var phases: [String: LoadResult] = ["echo": echo]
    var keptShares: [String: Double] = [:]
    for mode in ["", "_changing", "_computed"] {
      for phase in Self.phases {
        let name = phase + mode
        let kept = mode != "_computed"
        print("measuring \(name) for \(options.seconds) s at \(options.callers) callers over Kafka …")
        let before = memo.tally
        // As a projector applying events without a pause would: every area changed at each commit.
        let changes = Task {
          while mode == "_changing", !Task.isCancelled {
            try await Task.sleep(for: .seconds(1) / max(1, changesPerSecond))
            _ = try await client.query("UPDATE projection_versions SET version = version + 1", logger: logger).collect()
          }
        }
        defer { changes.cancel() }
        phases[name] = try await withKafkaPhase(
          name, rpc: kept ? rpc : computing, kafka: kafka, service: service, fetchWaitMs: options.fetchWaitMs,
          logger: logger,
          server: serverInterceptors, caller: [caller]
        ) { remote in
          let reporting = Crm_Reporting_V1_Reporting.Client(wrapping: remote)
          return await warmedUp {
            let principal = requests.principal()
            try await BenchCaller.$current.withValue(principal) {
              switch phase {
              case "funnel": _ = try await reporting.getFunnel(requests.funnel())
              case "forecast": _ = try await reporting.getForecast(requests.forecast())
              default: _ = try await reporting.getLeaderboard(requests.leaderboard())
              }
            }
          }
        }
        // Warm-up included.
        let after = memo.tally
        if kept {
          keptShares[name] =
            Double(after.hits - before.hits) / Double(max(1, after.hits + after.misses - before.hits - before.misses))
        }
      }
    }
    var figures: [String: Double] = [
      "deals": counts["deals"]!, "stage_visits": counts["stage_visits"]!, "deal_versions": counts["deal_versions"]!,
      "leads": counts["leads"]!, "funnel_cells": counts["funnel_cells"]!, "load_s": loaded, "analyze_s": analyzed,
      "callers": Double(options.callers), "manager_share": managerShare, "rss_mb": peakResidentMegabytes(),
    ]
    for (name, p50) in single { figures["\(name)_alone_p50_ms"] = p50 }
    for (name, share) in keptShares { figures["\(name)_kept_share"] = share }
    for (name, result) in phases {
      figures["\(name)_per_s"] = result.callsPerSecond
      figures["\(name)_p50_ms"] = result.percentile(0.5)
      figures["\(name)_p99_ms"] = result.percentile(0.99)
      figures["\(name)_errors"] = Double(result.errors)
      if name != "echo" {
        figures["\(name)_p99_vs_echo"] = result.percentile(0.99) / echo.percentile(0.99)
        figures["\(name)_vs_echo"] = result.callsPerSecond / echo.callsPerSecond
      }
    }
    return figures
  }

  /// Two seconds of warm-up (group joined, reply topic ready, connections pooled), then the phase.
  private func warmedUp(_ call: @escaping @Sendable () async throws -> Void) async -> LoadResult {
    _ = await LoadGenerator.run(callers: options.callers, duration: .seconds(2), call)
    return await LoadGenerator.run(callers: options.callers, duration: .seconds(options.seconds), call)
  }
}

/// The requests a sales department makes of the reports, at random: the funnel of either pipeline
/// over this month so far, the last one, three or twelve whole months (UTC) or all time, now and
/// then for one kind or one source; the forecast for everything, a pipeline or a currency; the
/// leaderboard over the last month, quarter, year or all time.
struct ReportingBenchRequests: Sendable {
  var now: Date
  var managerShare: Double
  var managers: [String]

  func principal() -> String {
    Double.random(in: 0..<1) < managerShare ? managers.randomElement()! : ReportingBench.head
  }

  /// The start of the UTC month `offset` months from this one.
  func monthStart(_ offset: Int) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let current = calendar.dateInterval(of: .month, for: now)!.start
    return calendar.date(byAdding: .month, value: offset, to: current)!
  }

  func period(months: Int?, current: Bool) -> Crm_Reporting_V1_Period {
    guard let months else { return Crm_Reporting_V1_Period() }
    return .with {
      $0.from = Google_Protobuf_Timestamp(date: monthStart(current ? 0 : -months))
      if !current { $0.to = Google_Protobuf_Timestamp(date: monthStart(0)) }
    }
  }

  func funnel() -> Crm_Reporting_V1_GetFunnelRequest {
    let consultative = Bool.random()
    let choice = Int.random(in: 0..<5)
    return .with {
      $0.pipelineID = consultative ? "p-consult" : "p-active"
      switch choice {
      case 0: $0.period = period(months: 1, current: true)
      case 1: $0.period = period(months: 1, current: false)
      case 2: $0.period = period(months: 3, current: false)
      case 3: $0.period = period(months: 12, current: false)
      default: break
      }
      if Double.random(in: 0..<1) < 0.2 { $0.kind = consultative ? .consultative : .active }
      if Double.random(in: 0..<1) < 0.2 { $0.source = ReportingBenchLoader.sources.randomElement()! }
    }
  }

  func forecast() -> Crm_Reporting_V1_GetForecastRequest {
    .with {
      switch Int.random(in: 0..<4) {
      case 0: $0.pipelineID = "p-consult"
      case 1: $0.pipelineID = "p-active"
      default: break
      }
      if Double.random(in: 0..<1) < 0.3 { $0.currency = ["RUB", "USD", "EUR"].randomElement()! }
    }
  }

  func leaderboard() -> Crm_Reporting_V1_GetLeaderboardRequest {
    .with {
      switch Int.random(in: 0..<4) {
      case 0: $0.period = period(months: 1, current: false)
      case 1: $0.period = period(months: 3, current: false)
      case 2: $0.period = period(months: 12, current: false)
      default: break
      }
    }
  }
}

/// Calls as the principal the calling task names (`BenchCaller.$current`), each with a token of
/// the bench's key.
final class BenchCaller: ClientInterceptor, Sendable {
  @TaskLocal static var current = ReportingBench.head
  private let callers: [String: TokenClientInterceptor]

  init(_ principals: [String]) {
    callers = Dictionary(
      uniqueKeysWithValues: principals.map {
        (
          $0,
          TokenClientInterceptor(
            issuer: BenchIdentity.issuer, principal: try! Principal(parsing: $0), audience: [BenchIdentity.audience])
        )
      })
  }

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    try await callers[Self.current]!.intercept(request: request, context: context, next: next)
  }
}
