import CRMContracts
import CRMHistory
import CRMKafka
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// The history generator against every service — contacts, deals, activity, quality control and
/// reporting — on one broker: reporting's reports, asked over RPC as a head of sales, recover
/// what the history planted. They are compared with the figures the plan realised (the planted
/// rates are noisy at this size), exactly where reporting counts what the plan counts; where the
/// issue names a planted trait (strong early and weak late, inflated estimates, bare cards), the
/// trait shows. Once the history is written, activity is started again with its day ending at
/// the next minute, so that each manager's end-of-day report of today lands in the discipline
/// report: about a minute and a half of the test's two (activity's end of day is set to the
/// minute, settles for a minute and is looked for every 30 s), spent while the reviews run.
@Suite("History in the reports")
struct HistoryReportingTests {
  static let logger = Logger(label: "history-reporting-test")
  static let companyZone = "Europe/Moscow"

  struct Schemas {
    var contacts, deals, activity, quality, reporting: String
  }

  @Test func theReportsRecoverWhatTheHistoryPlanted() async throws {
    try await TestSchema.with(database: "contacts") { _, contacts in
      try await TestSchema.with(database: "deals") { _, deals in
        try await TestSchema.with(database: "activity") { _, activity in
          try await TestSchema.with(database: "quality-control") { _, quality in
            try await TestSchema.with(database: "reporting") { _, reporting in
              try await run(
                Schemas(contacts: contacts, deals: deals, activity: activity, quality: quality, reporting: reporting))
            }
          }
        }
      }
    }
  }

  /// The truth's report figures add up with its counts (pure): every closed deal in the
  /// calibration and every lost one in the losses, a card per converted lead and outbound deal,
  /// tasks only on open deals, expected close dates only on outbound ones.
  @Test func theTruthsReportFiguresAddUp() throws {
    let plan = Planner.plan(HistoryOptions(seed: 12, months: 3, deals: 90, end: HistoryOptions.startOfToday()))
    let truth = PlantedTruth(plan)
    for manager in truth.managers {
      let id = manager.planted.id
      let deals = manager.deals
      #expect(
        manager.closedForecast.closed == deals.won + deals.lost && manager.closedForecast.won == deals.won, "\(id)")
      #expect(manager.losses.reduce(0) { $0 + $1.deals } == deals.lost, "\(id)")
      #expect(manager.cards.contacts == manager.leads.converted + manager.contactsCreated, "\(id)")
      #expect(manager.dealFields.deals == deals.opened && manager.openDeals == deals.open, "\(id)")
      #expect(manager.openDealsUnprocessed <= manager.openDealsWithoutTask, "\(id)")
      #expect(manager.openDealsWithoutTask <= manager.openDeals, "\(id)")
      #expect(manager.leads.rejections.values.reduce(0, +) == manager.leads.rejected, "\(id)")
      let theirs = plan.deals.filter { $0.managerID == id }
      #expect(theirs.filter(\.nextStepTask).allSatisfy { !$0.closes }, "\(id)")
      #expect(
        theirs.filter { $0.expectedClose != nil }.allSatisfy { deal in
          if case .direct = deal.origin { manager.planted.fillsOptionalCardFields } else { false }
        }, "\(id)")
    }
    let bare = try #require(truth.managers.first { $0.planted.id == "m-early" }?.cards)
    let filled = try #require(truth.managers.first { $0.planted.id == "m-steady" }?.cards)
    #expect(bare.optionalFilled * filled.optionalPossible < filled.optionalFilled * bare.optionalPossible)
  }

  /// A service as deployed: the runtime role, migrations by the owner (contacts and deals run
  /// as the owner, as in their other tests).
  static func roles(_ service: String, _ schema: String) -> [String: String] {
    [
      "CRM_DATABASE_URL": LocalStack.runtimeDatabaseURL(service) + "&search_path=\(schema)",
      "CRM_MIGRATION_DATABASE_URL": LocalStack.databaseURL(service) + "&search_path=\(schema)",
    ]
  }

  /// Starts the services at once (each migrates its own schema); a failure stops those started.
  static func start(_ services: [String: [String: String]], brokers: String) async throws -> [String: ChildProcess] {
    let started = Locked<[String: ChildProcess]>([:])
    do {
      try await withThrowingTaskGroup(of: Void.self) { group in
        for (service, environment) in services {
          group.addTask {
            let process = try await ServiceProcess.start(service, brokers: brokers, environment: environment)
            started.withLock { $0[service] = process }
          }
        }
        try await group.waitForAll()
      }
    } catch {
      for process in started.withLock({ $0.values }) { process.signal(SIGKILL) }
      throw error
    }
    return started.withLock { $0 }
  }

  func run(_ schemas: Schemas) async throws {
    let broker = try await PrivateBroker()
    // No end-of-day report while the history is written (it would count half of it): the days
    // around today are days off until activity is started again.
    let today = HistoryOptions.startOfToday()
    let holidays =
      "\(EndOfDay.isoDay(today.addingTimeInterval(-86_400)))..\(EndOfDay.isoDay(today.addingTimeInterval(2 * 86_400)))"
    let processes = try await Self.start(
      [
        "reporting": Self.roles("reporting", schemas.reporting).merging(["CRM_COMPANY_TIME_ZONE": Self.companyZone]) {
          $1
        },
        "contacts": ["CRM_DATABASE_URL": LocalStack.databaseURL("contacts") + "&search_path=\(schemas.contacts)"],
        "deals": ["CRM_DATABASE_URL": LocalStack.databaseURL("deals") + "&search_path=\(schemas.deals)"],
        "activity": Self.roles("activity", schemas.activity).merging(["CRM_HOLIDAYS": holidays]) { $1 },
        "quality-control": Self.roles("quality-control", schemas.quality),
      ], brokers: broker.brokers)
    let restarted = Locked<ChildProcess?>(nil)
    defer {
      let all = Array(processes.values) + [restarted.withLock { $0 }].compactMap(\.self)
      for process in all where process.process.isRunning { process.signal(SIGKILL) }
    }

    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "history-reporting-test")
    // Three months (the backtest's months start inside the history) of about ninety deals.
    let plan = Planner.plan(HistoryOptions(seed: 12, months: 3, deals: 90, end: today))
    let truth = PlantedTruth(plan)
    let restart = Locked<(endOfDay: EndOfDay, task: Task<Void, any Error>)?>(nil)
    let written = try await HistoryGenerator.run(
      plan, connection: HistoryConnection(kafka: kafka, issuer: TestIdentity.issuer, logger: Self.logger)
    ) {
      // Everything activity counts is written (the reviews follow): the day ends at the next
      // minute, and activity is started again with that end of day while the reviews and the
      // other reports go on.
      let endOfDay = EndOfDay(after: Date())
      let task = Task {
        try await Self.restartActivity(
          processes["activity"]!, endOfDay: endOfDay, brokers: broker.brokers, schema: schemas.activity,
          into: restarted)
      }
      restart.withLock { $0 = (endOfDay, task) }
    }
    let (endOfDay, restarting) = try #require(restart.withLock { $0 })
    defer { restarting.cancel() }
    #expect(written.tasksSet == truth.managers.reduce(0) { $0 + $1.openDeals - $1.openDealsWithoutTask })

    let clients = [
      TestIdentity.kafkaClient(kafka, service: "reporting", as: "head_of_sales:head-1", logger: Self.logger),
      TestIdentity.kafkaClient(kafka, service: "deals", as: "head_of_sales:head-1", logger: Self.logger),
    ]
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in clients { group.addTask { try await client.runConnections() } }
      defer { for client in clients { client.beginGracefulShutdown() } }
      let reporting = Crm_Reporting_V1_Reporting.Client(wrapping: clients[0])
      let deals = Crm_Deals_V1_Deals.Client(wrapping: clients[1])
      let pipelines = try await deals.listPipelines(.init()).pipelines
      let check = HistoryReportChecks(
        plan: plan, truth: truth, reporting: reporting, pipelines: pipelines,
        reviewsSubmitted: written.reviewsSubmitted)
      try await check.caughtUp(within: .seconds(90))
      try await check.funnel()
      try await check.leadFunnel()
      try await check.losses()
      try await check.forecast()
      try await check.backtest(zone: TimeZone(identifier: Self.companyZone)!)
      try await check.cardCompleteness()
      try await check.qualityScores()
      try await check.leaderboard()
      try await restarting.value
      try await check.discipline(day: endOfDay, within: .seconds(180))
    }
  }
}

extension HistoryReportingTests {
  /// Activity again, its day ending at `endOfDay`: stopped and started half a minute after that
  /// end, so that its first look for reports due (half a minute after it starts) comes once the
  /// day's end has settled (a minute after it), not up to half a minute later.
  static func restartActivity(
    _ old: ChildProcess, endOfDay: EndOfDay, brokers: String, schema: String, into started: Locked<ChildProcess?>
  ) async throws {
    try await Task.sleep(for: .seconds(max(0, endOfDay.at.timeIntervalSinceNow + 32)))
    old.signal(SIGTERM)
    _ = try await old.waitForExit(within: .seconds(20))
    let process = try await ServiceProcess.start(
      "activity", brokers: brokers,
      environment: roles("activity", schema).merging([
        "CRM_END_OF_DAY": endOfDay.clock, "CRM_COMPANY_TIME_ZONE": endOfDay.zone, "CRM_WORKING_DAYS": endOfDay.day,
      ]) { $1 })
    started.withLock { $0 = process }
  }
}

/// The end of today a restarted activity service reports at: the next whole minute, on a clock
/// where it is well inside its day (Moscow's; UTC's around Moscow's midnight).
struct EndOfDay {
  var at: Date
  var zone: String
  /// `HH:MM` on that clock (`CRM_END_OF_DAY`), and its day (`YYYY-MM-DD`).
  var clock: String
  var day: String

  init(after now: Date) {
    at = Date(timeIntervalSince1970: ((now.timeIntervalSince1970 + 1) / 60).rounded(.up) * 60)
    let moscow = Self.reading(at, in: "Europe/Moscow")
    zone = (1...22).contains(moscow.hour!) ? "Europe/Moscow" : "UTC"
    let parts = zone == "UTC" ? Self.reading(at, in: "UTC") : moscow
    clock = String(format: "%02d:%02d", parts.hour!, parts.minute!)
    day = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
  }

  static func reading(_ instant: Date, in zone: String) -> DateComponents {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: zone)!
    return calendar.dateComponents([.year, .month, .day, .hour, .minute], from: instant)
  }

  static func isoDay(_ instant: Date) -> String {
    let parts = reading(instant, in: "UTC")
    return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
  }
}
