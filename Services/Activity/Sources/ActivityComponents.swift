import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMRuntime
import GRPCCore
import Logging
import PostgresNIO
import ServiceLifecycle

/// The parts of the activity service, for its executable and for tools that host it in process.
public enum ActivityComponents {
  /// The service's own migrations (the runtime adds the outbox and inbox tables).
  public static var migrations: [Migration] { ActivitySchema.migrations }
  /// The topic its events go to.
  public static var eventTopic: String { ActivityEvents.topic }
  /// The topic of review items for quality control (issue 15).
  public static var reviewItemsTopic: String { ReviewItemMaker.topic }

  /// Who may call which of its methods.
  public static var access: AccessPolicy { ActivityAccess.policy }

  /// The RPC service on the PostgreSQL repository.
  /// `pageTokens` seals its page tokens: the same key on every replica; `review` makes the
  /// review items of meeting and call reports.
  public static func rpcService(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random(), hygiene: HygieneSettings = .default,
    review: ReviewSettings
  ) -> any RegistrableRPCService {
    ActivityRPCService(
      repository: PostgresActivityRepository(
        client: client, logger: logger, review: ReviewItemMaker(settings: review)),
      pageTokens: pageTokens, hygiene: hygiene)
  }

  /// The consumers of the contacts and deals services' events: the directory of contacts and
  /// deals that activities and tasks are linked to.
  public static func subscriptions(logger: Logger) -> [InboxSubscription] {
    [ContactsEventsHandler(logger: logger).subscription, DealsEventsHandler(logger: logger).subscription]
  }

  /// How often offers past their deadline get their "no answer".
  public static let offerDeadlineSweep: Duration = .seconds(30)

  /// How often the end-of-day reports due are looked for.
  public static let endOfDaySweep: Duration = .seconds(30)

  /// The background work: recording "no answer" on offers past their deadline, and the
  /// managers' end-of-day reports.
  public static func services(client: PostgresClient, logger: Logger, hygiene: HygieneSettings = .default)
    -> [any Service]
  {
    [
      OfferDeadlines(
        repository: PostgresActivityRepository(client: client, logger: logger), interval: offerDeadlineSweep),
      EndOfDayReports(
        repository: PostgresActivityRepository(client: client, logger: logger), settings: hygiene,
        interval: endOfDaySweep),
    ]
  }
}
