import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMMail
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
  public static var access: AccessPolicy {
    ActivityAccess.policy.merging(ActivityAccess.mail).merging(ActivityAccess.review)
  }

  /// The RPC service on the PostgreSQL repository.
  /// `pageTokens` seals its page tokens: the same key on every replica. `smtp`: the mail
  /// server (`MailConfiguration`); without one SendEmail logs and does not send. `review` makes
  /// the review items of meeting and call reports.
  public static func rpcService(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random(), hygiene: HygieneSettings = .default,
    smtp: SMTPSettings? = nil, review: ReviewSettings
  ) -> any RegistrableRPCService {
    ActivityRPCService(
      repository: PostgresActivityRepository(
        client: client, logger: logger, review: ReviewItemMaker(settings: review)),
      pageTokens: pageTokens, hygiene: hygiene,
      mailSender: smtp.map { MailSender(from: $0.from, name: $0.fromName) })
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

  /// The background work: recording "no answer" on offers past their deadline, the managers'
  /// end-of-day reports, and, with an SMTP server, delivering the mail waiting in `outgoing_mail`.
  public static func services(
    client: PostgresClient, logger: Logger, hygiene: HygieneSettings = .default, smtp: SMTPSettings? = nil
  ) -> [any Service] {
    let repository = PostgresActivityRepository(client: client, logger: logger)
    return [
      OfferDeadlines(repository: repository, interval: offerDeadlineSweep),
      EndOfDayReports(repository: repository, settings: hygiene, interval: endOfDaySweep),
    ] + (smtp.map { [OutgoingMailSender(repository: repository, smtp: SMTPClient(settings: $0))] } ?? [])
  }
}
