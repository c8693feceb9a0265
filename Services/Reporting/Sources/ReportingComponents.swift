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
  /// `forecast`: the company's clock (`CRM_COMPANY_TIME_ZONE`).
  public static func rpcService(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random(), codes: ReviewCodes? = nil,
    forecast: ForecastSettings = .default
  ) -> any RegistrableRPCService {
    ReportingRPCService(
      repository: PostgresReportingRepository(client: client, logger: logger), pageTokens: pageTokens, codes: codes,
      forecast: forecast)
  }

  /// Its one subscription: every event of contacts, deals, activity and quality-control.
  public static func eventsSubscription(logger: Logger) -> InboxSubscription {
    ReportingEventsHandler(logger: logger).subscription
  }
}
