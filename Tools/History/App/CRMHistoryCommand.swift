import ArgumentParser
import CRMHistory
import CRMIdentity
import CRMKafka
import Foundation
import Logging

/// Writes a realistic sales history through the services' RPCs (issue 16, "Test data").
@main
struct CRMHistoryCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "crm-history",
    abstract: "Write a generated sales history into the running services, over the broker.",
    discussion: """
      Two business lines (pipelines «Оборудование», consultative, and «Сервис», active), six managers \
      with planted strengths per stage and optimism in their estimates, leads from several sources \
      converted or rejected, deals that move, skip, meet objections and close, activities with context \
      attributes and offers, next-step tasks on the deals still open at the end (as often as each manager's \
      habit has it), expected close dates on the outbound deals of the managers who fill optional fields, \
      quality-control reviews of the meeting and call reports. Changes of contacts and deals are imported \
      with their past times (occurred_at, as the operator); activities carry theirs; offers and tasks are \
      made now (tasks due 60 days after --end; none when that is past). The same seed and \
      --end write the same history: a second run changes nothing.
      """)

  @Option(help: "The seed: the same seed plans the same history.")
  var seed: UInt64 = 1

  @Option(help: "Months of history before --end.")
  var months: Int = 6

  @Option(help: "About how many deals, spread over the six managers.")
  var deals: Int = 600

  @Option(help: "Where the history ends, YYYY-MM-DD (UTC midnight); default today.")
  var end: String?

  @Option(help: "Write the planted truths (per manager: stage conversions, optimism, counts) as JSON here.")
  var truth: String?

  @Option(help: "Calls in flight at once.")
  var concurrency: Int = 16

  @Option(help: "Broker list host:port[,host:port]; default $CRM_KAFKA_BROKERS or 127.0.0.1:19092.")
  var brokers: String?

  @Option(
    help: """
      The token signing key (PEM, P-256); default $CRM_TOKEN_SIGNING_KEY_FILE, else .state/keys/issuer.pem \
      (made by deploy/local/stack up).
      """)
  var signingKey: String?

  @Flag(help: "Leave out quality control (no rubric, no reviews): for a system without quality-control running.")
  var skipReviews = false

  @Flag(help: "Only plan: write --truth and print the counts, calling nothing.")
  var dryRun = false

  func validate() throws {
    guard (1...60).contains(months) else { throw ValidationError("--months must be 1 to 60") }
    guard (1...1_000_000).contains(deals) else { throw ValidationError("--deals must be 1 to 1000000") }
    guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 256") }
    if let end { _ = try Self.day(end) }
  }

  static func day(_ text: String) throws -> Date {
    guard let date = try? Date(text + "T00:00:00Z", strategy: .iso8601) else {
      throw ValidationError("--end: \"\(text.prefix(40))\" is not YYYY-MM-DD")
    }
    return date
  }

  func run() async throws {
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = .critical  // librdkafka's reconnect chatter is not for the command line
      return handler
    }
    let options = HistoryOptions(
      seed: seed, months: months, deals: deals, end: try end.map(Self.day) ?? HistoryOptions.startOfToday())
    let plan = Planner.plan(options)
    if let path = truth {
      try PlantedTruth(plan).json().write(to: URL(fileURLWithPath: path))
    }
    let steps = plan.deals.reduce(0) { $0 + $1.steps.count }
    log(
      "planned \(plan.leads.count) leads, \(plan.deals.count) deals, \(steps) deal steps from \(plan.start) to \(options.end)"
    )
    guard !dryRun else { return }
    let path =
      signingKey ?? ProcessInfo.processInfo.environment["CRM_TOKEN_SIGNING_KEY_FILE"] ?? ".state/keys/issuer.pem"
    let issuer: TokenIssuer
    do {
      issuer = try TokenIssuer(
        privateKeyFile: path,
        issuer: ProcessInfo.processInfo.environment["CRM_TOKEN_ISSUER"] ?? TokenIssuer.defaultIssuer)
    } catch {
      throw ValidationError("\(error.reason): pass --signing-key or set CRM_TOKEN_SIGNING_KEY_FILE")
    }
    let kafka = KafkaConfiguration(
      bootstrapServers: (brokers ?? ProcessInfo.processInfo.environment["CRM_KAFKA_BROKERS"] ?? "127.0.0.1:19092")
        .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
      clientID: "crm-history")
    let report = try await HistoryGenerator.run(
      plan,
      connection: HistoryConnection(
        kafka: kafka, issuer: issuer, concurrency: concurrency, logger: Logger(label: "crm-history"),
        progress: log),
      reviews: !skipReviews)
    log(
      "done: \(report.stepsWritten) deal steps, \(report.activitiesLogged) activities, \(report.offersMade) offers, "
        + "\(report.reviewsSubmitted) reviews (a repeated run writes none)")
  }
}

@Sendable func log(_ line: String) {
  FileHandle.standardError.write(Data((line + "\n").utf8))
}
