import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMRuntime
import GRPCCore
import Logging
import PostgresNIO

/// The parts of the deals service, for its executable and for tools that host it in process
/// (`crm-bench deals`).
public enum DealsComponents {
  /// The service's own migrations (the runtime adds the outbox and inbox tables).
  public static var migrations: [Migration] { DealsSchema.migrations }
  /// The topic its events go to.
  public static var eventTopic: String { DealsEvents.topic }

  /// Who may call which of its methods.
  public static var access: AccessPolicy { DealsAccess.policy }

  /// The RPC service on the PostgreSQL repository.
  /// `pageTokens` seals its page tokens: the same key on every replica.
  public static func rpcService(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random()
  ) -> any RegistrableRPCService {
    DealsRPCService(repository: PostgresDealsRepository(client: client, logger: logger), pageTokens: pageTokens)
  }

  /// The consumer of the contacts service's events: the contact directory and converted leads.
  public static func contactsSubscription(client: PostgresClient, logger: Logger) -> InboxSubscription {
    ContactsEventsHandler(repository: PostgresDealsRepository(client: client, logger: logger)).subscription
  }
}
