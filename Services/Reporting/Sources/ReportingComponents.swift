import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMReview
import CRMRuntime
import GRPCCore
import Logging
import PostgresNIO

/// The parts of the reporting service, for its executable and for tools and tests that host it
/// in process. It publishes nothing (no relay, no outbox of its own).
public enum ReportingComponents {
  /// The service's own migrations (the runtime adds the outbox and inbox tables).
  public static var migrations: [Migration] { ReportingSchema.migrations }

  /// Who may call which of its methods.
  public static var access: AccessPolicy { ReportingAccess.policy }

  /// `pageTokens` seals its page tokens: the same key on every replica. `codes` maps QC rep codes
  /// back to managers (the executable's from `CRM_QC_CODE_KEY`; without it codes stay codes).
  /// `forecast`: the company's clock (`CRM_COMPANY_TIME_ZONE`). `memo` keeps the dear reports
  /// per state of the projections; nil: each call computes.
  public static func rpcService(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random(), codes: ReviewCodes? = nil,
    forecast: ForecastSettings = .default, memo: ReportMemo? = ReportMemo()
  ) -> any RegistrableRPCService {
    ReportingRPCService(
      repository: repository(client: client, logger: logger, memo: memo), pageTokens: pageTokens, codes: codes,
      forecast: forecast)
  }

  static func repository(client: PostgresClient, logger: Logger, memo: ReportMemo?) -> any ReportingRepository {
    let repository = PostgresReportingRepository(client: client, logger: logger)
    guard let memo else { return repository }
    return MemoizedReportingRepository(base: repository, memo: memo)
  }

  /// Its PostgreSQL sessions plan no parallel workers: reports are many small requests at once,
  /// and on a small machine a worker adds CPU, not speed (the leaderboard's activity sums over a
  /// month at 1M deals: 22.9 ms with a worker, about 17 without).
  public static var sessionSettings: [String: String] { ["max_parallel_workers_per_gather": "0"] }

  /// Empties and fills again the sums the funnel and the forecast read (`DealAggregates`) from the
  /// projections as they stand, in one transaction: for a bulk load that wrote the projections
  /// directly (the reporting bench). The projector keeps them itself.
  public static func refillAggregates(client: PostgresClient, logger: Logger) async throws {
    try await client.withTransaction(logger: logger) { connection in
      // Grouping millions of visits: in memory rather than in temporary files.
      _ = try await connection.query("SET LOCAL work_mem = '256MB'", logger: logger).collect()
      for table in ReportingSchema.sumTables.keys.sorted() {
        _ = try await connection.query(PostgresQuery(unsafeSQL: "DELETE FROM \(table)"), logger: logger).collect()
      }
      for statement in DealAggregates.fill + [LeadAggregates.fill] {
        _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
      }
      try await ProjectionVersion.advance(on: connection, logger: logger)
    }
  }

  /// Its one subscription: every event of contacts, deals, activity and quality-control.
  public static func eventsSubscription(logger: Logger) -> InboxSubscription {
    ReportingEventsHandler(logger: logger).subscription
  }
}
