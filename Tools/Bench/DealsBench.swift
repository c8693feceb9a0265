import ArgumentParser
import CRMContracts
import CRMDatabase
import CRMEvents
import CRMKafka
import CRMRPC
import CRMRuntime
import DealsService
import Foundation
import GRPCCore
import Logging
import PostgresNIO
import Synchronization

/// `deploy/local/bench deals`: 10,000 open deals in a twelve-stage pipeline; 64 callers move
/// random deals forward (one stage, or two with a skip) over the Kafka transport. Callers share
/// what they know of each deal's version, so two callers picking one deal race like two managers:
/// the loser gets ABORTED, which is counted, not hidden.
struct DealsBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "deals",
    abstract: "Forward moves of random deals over Kafka: moves/s, p99, and the share ABORTED."
  )

  @OptionGroup var options: ServiceBenchOptions
  @Option(help: "Open deals before measuring.") var deals = 10_000

  static let stages = 12

  func run() async throws {
    bootstrapBenchLogging()
    let logger = Logger(label: "bench-deals")
    let kafka = KafkaConfiguration(bootstrapServers: [options.brokers], clientID: "bench-deals")
    let service = "bench-deals-\(UUID().uuidString.prefix(8).lowercased())"
    let figures = try await withBenchSchema(
      database: options.database, maximumConnections: options.poolSize, logger: logger
    ) {
      client in
      try await MigrationRunner.apply(
        ServiceApplication.kitMigrations + DealsComponents.migrations, on: client, logger: logger)
      let rpc = DealsComponents.rpcService(client: client, logger: logger)
      return try await withBenchHost(rpc: rpc) { local in
        let board = try await seed(Crm_Deals_V1_Deals.Client(wrapping: local), client: client, logger: logger)
        if options.inProcess { return await measure(Crm_Deals_V1_Deals.Client(wrapping: local), board: board) }
        return try await withKafkaPhase(
          "move", rpc: rpc, kafka: kafka, service: service, fetchWaitMs: options.fetchWaitMs, logger: logger
        ) { remote in
          await measure(Crm_Deals_V1_Deals.Client(wrapping: remote), board: board)
        }
      }
    }
    print(
      String(
        format: "move deal: %7.0f moves/s   p50 %6.2f ms   p99 %6.2f ms   aborted %.1f%%   other errors %.0f",
        figures["move_per_s"] as! Double, figures["move_p50_ms"] as! Double, figures["move_p99_ms"] as! Double,
        (figures["aborted_share"] as! Double) * 100, figures["errors"] as! Double))
    if let failed = figures["errors_by_code"] as? [String: Int], !failed.isEmpty { print("errors: \(failed)") }
    try writeFigures(figures, to: options.json)
  }

  /// The pipeline, the deals' contacts (as the contacts events would have made them known) and the deals.
  private func seed(_ deals: Crm_Deals_V1_Deals.Client<some ClientTransport>, client: PostgresClient, logger: Logger)
    async throws -> DealBoard
  {
    let pipeline = try await deals.definePipeline(
      .with {
        $0.businessLine = "bench"
        $0.name = "Bench pipeline"
        $0.stages = (0..<Self.stages).map { index in
          .with {
            $0.name = "Stage \(index + 1)"
            $0.result = "Stage \(index + 1) done"
            $0.defaultProbability = Int32(index * 100 / Self.stages)
          }
        }
      })
    let contacts = (0..<self.deals).map { _ in UUID() }
    _ = try await client.query("INSERT INTO known_contacts (id) SELECT unnest(\(contacts))", logger: logger).collect()
    print("opening \(self.deals) deals …")
    let started = ContinuousClock.now
    let next = Counter()
    let total = self.deals
    let pipelineID = pipeline.id
    let opened = try await withThrowingTaskGroup(of: [(Int, Crm_Deals_V1_Deal)].self) { group in
      for _ in 0..<16 {
        group.addTask {
          var mine: [(Int, Crm_Deals_V1_Deal)] = []
          while true {
            let index = next.next()
            guard index < total else { return mine }
            let deal = try await deals.openDeal(
              .with {
                $0.contactID = contacts[index].uuidString
                $0.pipelineID = pipelineID
                $0.ownerID = "manager-\(index % 20)"
                $0.kind = index % 2 == 0 ? .active : .consultative
                $0.amount = .with {
                  $0.minorUnits = Int64(index) * 100
                  $0.currency = "RUB"
                }
              })
            mine.append((index, deal))
          }
        }
      }
      return try await group.reduce(into: [Int: Crm_Deals_V1_Deal]()) { all, mine in
        for (index, deal) in mine { all[index] = deal }
      }
    }
    print(String(format: "  opened in %.1f s", (ContinuousClock.now - started).seconds))
    let board = (0..<total).map { opened[$0]! }
    return DealBoard(deals: board, stageIDs: pipeline.stages.map(\.id))
  }

  private func measure(_ deals: Crm_Deals_V1_Deals.Client<some ClientTransport>, board: DealBoard) async
    -> [String: any Sendable]
  {
    // Warm-up: the reply topic, the consumer group and the connection pool.
    _ = await LoadGenerator.run(callers: options.callers, duration: .seconds(2)) {
      _ = try await deals.getDeal(.with { $0.dealID = board.randomDealID() })
    }
    print("moving deals for \(options.seconds) s at \(options.callers) callers over \(options.transportName) …")
    let aborted = Atomic<Int>(0)
    let moved = Atomic<Int>(0)
    let failures = FailureTally()
    let result = await LoadGenerator.run(callers: options.callers, duration: .seconds(options.seconds)) {
      guard let move = board.pickMove() else { return }
      do {
        let deal = try await deals.moveDeal(
          .with {
            $0.dealID = move.dealID
            $0.toStageID = move.stageID
            $0.expectedVersion = move.version
          })
        board.record(deal, at: move.index)
        moved.add(1, ordering: .relaxed)
      } catch let error as RPCError where error.code == .aborted {
        // Another caller moved it first: a result of the race, not a failure. Its success
        // updates the board.
        aborted.add(1, ordering: .relaxed)
      } catch {
        failures.record(error)
        throw error
      }
    }
    let calls = Double(result.calls)
    return [
      "deals": Double(self.deals),
      "callers": Double(options.callers),
      "in_process": options.inProcess ? 1 : 0,
      "move_per_s": Double(moved.load(ordering: .relaxed)) / result.seconds,
      "calls_per_s": result.callsPerSecond,
      "move_p50_ms": result.percentile(0.5),
      "move_p99_ms": result.percentile(0.99),
      "aborted_share": calls > 0 ? Double(aborted.load(ordering: .relaxed)) / calls : 0,
      "errors": Double(result.errors),
      // Anything but ABORTED, by status: FAILED_PRECONDITION here would be a bench bug (a stale board).
      "errors_by_code": failures.counts,
      "rss_mb": peakResidentMegabytes(),
    ]
  }
}

/// What the callers know of every deal: its version and stage, updated after each answer.
final class DealBoard: Sendable {
  struct Move {
    var index: Int
    var dealID: String
    var stageID: String
    var version: Int64
  }

  private let ids: [String]
  private let stageIDs: [String]
  private let state: Mutex<[(version: Int64, stage: Int)]>

  init(deals: [Crm_Deals_V1_Deal], stageIDs: [String]) {
    ids = deals.map(\.id)
    self.stageIDs = stageIDs
    state = Mutex(deals.map { deal in (deal.version, stageIDs.firstIndex(of: deal.stageID) ?? 0) })
  }

  func randomDealID() -> String { ids.randomElement()! }

  /// A random deal that can still move, one stage on or (one time in four) two with a skip.
  func pickMove() -> Move? {
    for _ in 0..<100 {
      let index = Int.random(in: 0..<ids.count)
      let (version, stage) = state.withLock { $0[index] }
      guard stage < stageIDs.count - 1 else { continue }
      let target = min(stageIDs.count - 1, stage + (Int.random(in: 0..<4) == 0 ? 2 : 1))
      return Move(index: index, dealID: ids[index], stageID: stageIDs[target], version: version)
    }
    return nil
  }

  func record(_ deal: Crm_Deals_V1_Deal, at index: Int) {
    let stage = stageIDs.firstIndex(of: deal.stageID) ?? 0
    state.withLock { state in
      if deal.version > state[index].version { state[index] = (deal.version, stage) }
    }
  }
}

/// Failed calls by status code (or error type).
final class FailureTally: Sendable {
  private let tally = Mutex<[String: Int]>([:])

  func record(_ error: any Error) {
    let key = (error as? RPCError).map { "\($0.code)" } ?? "\(type(of: error))"
    tally.withLock { $0[key, default: 0] += 1 }
  }

  var counts: [String: Int] { tally.withLock { $0 } }
}
