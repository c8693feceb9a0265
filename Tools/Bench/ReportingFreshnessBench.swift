import ArgumentParser
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMRuntime
import Foundation
import Logging
import PostgresNIO
import ReportingService

/// `deploy/local/bench reporting-freshness`: reporting's events consumer as the service runs it
/// (inbox → `ReportingEventsHandler` → projector, the service's fetch wait) on a schema of the
/// bench's own, under a steady stream of realistic events; how long from an event's envelope
/// time until its projection is committed, and whether the consumer keeps up. A backlog that
/// grows over the run is a failure, whatever the percentiles say.
///
/// The events go to the four `crm.*.events` topics under the bench's own names
/// (`bench-<run>.crm.deals.events`, …), deleted afterwards: a reporting service running on the
/// local stack does not take the bench's deals for its own, and the broker, which keeps every
/// record in memory, gets its memory back.
struct ReportingFreshnessBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reporting-freshness",
    abstract: "Event-to-projection freshness of reporting under a steady event rate."
  )

  @Option(help: "postgres://… of the reporting database (the bench works in a schema of its own).")
  var database: String
  @Option var brokers = "127.0.0.1:19092"
  @Option(help: "Events produced per second.") var rate = 2_000
  @Option(help: "Seconds measured.") var seconds = 60
  @Option(help: "Seconds produced at the full rate before the measured window (not counted).") var warmup = 5
  @Option(help: "Fetch wait of the consumer, ms (the service's CRM_EVENT_FETCH_WAIT_MS default: 500).")
  var fetchWaitMs = 500
  @Option(help: "Partitions of each topic (the inbox's default).") var partitions = 8
  @Option(help: "Write the figures as JSON to this file.") var json: String?

  func validate() throws {
    guard (1...50_000).contains(rate) else { throw ValidationError("--rate must be 1 to 50000") }
    guard (1...3_600).contains(seconds) else { throw ValidationError("--seconds must be 1 to 3600") }
    guard (0...600).contains(warmup) else { throw ValidationError("--warmup must be 0 to 600") }
    guard (0...900).contains(fetchWaitMs) else { throw ValidationError("--fetch-wait-ms must be 0 to 900") }
  }

  func run() async throws {
    bootstrapBenchLogging()
    let logger = Logger(label: "bench-reporting-freshness")
    let run = UUID().uuidString.prefix(8).lowercased()
    let topics = ReportingFreshnessEvents.Topics(
      contacts: "bench-\(run).crm.contacts.events", deals: "bench-\(run).crm.deals.events",
      activity: "bench-\(run).crm.activity.events", qualityControl: "bench-\(run).crm.qc.events")
    let consumerName = "bench-reporting-\(run)"
    let kafka = KafkaConfiguration(bootstrapServers: [brokers], clientID: "bench-reporting-freshness")
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    try await admin.createTopics(topics.all, partitions: partitions)
    print(
      "reporting freshness: \(rate) events/s for \(seconds) s after \(warmup) s of warm-up "
        + "(fetch wait \(fetchWaitMs) ms, \(partitions) partitions per topic)")
    let figures: Figures
    do {
      figures = try await withBenchSchema(database: database, logger: logger) { client in
        try await measure(client: client, kafka: kafka, topics: topics, consumerName: consumerName, logger: logger)
      }
    } catch {
      try? await admin.deleteTopics(topics.all + ["crm.dlq.\(consumerName)"])
      throw error
    }
    try? await admin.deleteTopics(topics.all + ["crm.dlq.\(consumerName)"])
    figures.print()
    try writeFigures(figures.document, to: json)
    guard figures.keptUp else {
      throw ValidationError(
        "the consumer fell behind: its backlog grew by \(figures.backlogGrowth) events over the run, "
          + "\(figures.unapplied) events not applied \(Int(Self.drainLimit.components.seconds)) s after the last")
    }
    guard figures.problems.isEmpty else {
      throw ValidationError("projections wrong: " + figures.problems.joined(separator: "; "))
    }
  }

  /// How long the consumer may take, once the stream stops, to apply what is left.
  static let drainLimit = Duration.seconds(60)

  private func measure(
    client: PostgresClient, kafka: KafkaConfiguration, topics: ReportingFreshnessEvents.Topics, consumerName: String,
    logger: Logger
  ) async throws -> Figures {
    try await MigrationRunner.apply(
      ServiceApplication.kitMigrations + ReportingComponents.migrations, on: client, logger: logger)
    let tracker = FreshnessTracker()
    let handler = ReportingComponents.eventsSubscription(logger: logger).batchHandler
    let deadLetters = try KafkaProducer(configuration: kafka, logger: logger)
    let consumer = InboxConsumer(
      name: consumerName, topics: topics.all, client: client, kafka: kafka, deadLetterProducer: deadLetters,
      topicPartitions: partitions, fetchWait: .milliseconds(fetchWaitMs), logger: logger,
      onCommitted: { outcome in tracker.committed(outcome, at: Date()) },
      batchHandler: { events, connection in
        let started = ContinuousClock.now
        try await handler(events, connection)
        tracker.handled(events.count, in: ContinuousClock.now - started)
      })
    let producer = try KafkaProducer(configuration: kafka, logger: logger)
    let stream = ReportingFreshnessEvents(topics: topics)
    var figures = Figures(rate: rate, seconds: seconds, fetchWaitMs: fetchWaitMs)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await consumer.run() }
      defer { group.cancelAll() }
      // The pipelines first, and only once they are applied the stream: the consumer has joined
      // its group (seconds on the local broker), as in a running system.
      let pipelines = try stream.pipelinesDefined()
      tracker.sent(pipelines, measuredFrom: pipelines.count)
      _ = try await producer.send(batch: pipelines.map(\.message))
      try await tracker.waitUntilApplied(pipelines.count, within: .seconds(120))
      try await produce(stream, producer: producer, tracker: tracker, figures: &figures)
      let drainStarted = ContinuousClock.now
      figures.drained = try await tracker.waitUntilAllApplied(within: Self.drainLimit)
      figures.drainMs = Self.milliseconds(ContinuousClock.now - drainStarted)
    }
    await producer.shutdown()
    await deadLetters.shutdown()
    tracker.fill(&figures)
    figures.problems = try await check(client: client, stream: stream, tracker: tracker, logger: logger)
    return figures
  }

  /// Produces the stream at `rate` for the warm-up and the measured seconds, in small batches
  /// as the clock comes due (a late tick catches up: a slow send makes the next batch larger),
  /// and samples the backlog every second.
  private func produce(
    _ stream: ReportingFreshnessEvents, producer: KafkaProducer, tracker: FreshnessTracker, figures: inout Figures
  ) async throws {
    let clock = ContinuousClock()
    let started = clock.now
    let warmupEvents = rate * warmup
    let total = warmupEvents + rate * seconds
    var produced = 0
    var nextSample = 1
    while produced < total {
      let elapsed = Self.seconds(clock.now - started)
      let due = min(total, Int(Double(rate) * elapsed))
      if due > produced {
        let batch = try (produced..<due).map { _ in try stream.next() }
        tracker.sent(batch, measuredFrom: max(0, warmupEvents - produced))
        let messages = batch.map(\.message)
        produced = due
        // One send at a time: sends in flight together may land out of order, and a deal's later
        // event first leaves the stage its earlier one entered open (the outbox relay never does that).
        _ = try await producer.send(batch: messages)
      }
      if Int(elapsed) >= nextSample {
        let backlog = produced - tracker.appliedCount
        if elapsed >= Double(warmup) { figures.backlog.append((elapsed - Double(warmup), backlog)) }
        if nextSample % 5 == 0 {
          print(String(format: "  %4d s: produced %8d, backlog %6d events", nextSample, produced, backlog))
        }
        nextSample += 1
      }
      try await Task.sleep(for: .milliseconds(5))
    }
    figures.offeredPerSecond =
      Double(total - warmupEvents) / max(0.001, Self.seconds(clock.now - started) - Double(warmup))
  }

  /// What the projections must hold after the run: every event stored and projected, a deal row
  /// per deal opened, the open ones open, nothing dead-lettered.
  private func check(
    client: PostgresClient, stream: ReportingFreshnessEvents, tracker: FreshnessTracker, logger: Logger
  )
    async throws -> [String]
  {
    func count(_ query: PostgresQuery) async throws -> Int {
      try await client.query(query, logger: logger).decode(Int.self).first { _ in true } ?? -1
    }
    var problems: [String] = []
    let sent = tracker.sentCount
    let stored = try await count("SELECT count(*) FROM events")
    if stored != sent { problems.append("\(stored) events stored of \(sent) sent") }
    let unprojected = try await count("SELECT count(*) FROM events WHERE NOT projected")
    if unprojected != 0 { problems.append("\(unprojected) events of a type not projected") }
    let deals = try await count("SELECT count(*) FROM deals")
    if deals != stream.dealsOpened { problems.append("\(deals) deals of \(stream.dealsOpened) opened") }
    let open = try await count("SELECT count(*) FROM deals WHERE status = 'open'")
    if open != stream.openDeals { problems.append("\(open) deals open, \(stream.openDeals) expected") }
    let openVisits = try await count("SELECT count(*) FROM stage_visits WHERE outcome = 'open'")
    if openVisits != stream.openDeals {
      problems.append("\(openVisits) open stage visits, \(stream.openDeals) expected")
    }
    if tracker.deadLettered != 0 { problems.append("\(tracker.deadLettered) events dead-lettered") }
    return problems
  }

  static func seconds(_ duration: Duration) -> Double {
    let (seconds, attoseconds) = duration.components
    return Double(seconds) + Double(attoseconds) / 1e18
  }

  static func milliseconds(_ duration: Duration) -> Double { seconds(duration) * 1_000 }
}
