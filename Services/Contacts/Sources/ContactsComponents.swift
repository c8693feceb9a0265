import CRMDatabase
import CRMIdentity
import CRMRuntime
import GRPCCore
import Logging
import PostgresNIO

/// The parts of the contacts service, for its executable and for tools that host it in
/// process (`crm-bench contacts`).
public enum ContactsComponents {
  /// The service's own migrations (the runtime adds the outbox and inbox tables).
  public static var migrations: [Migration] { ContactsSchema.migrations }
  /// Its PostgreSQL sessions plan prepared statements once (generic plans). Left to choose,
  /// PostgreSQL kept re-planning the search statements on 100,000 cards: a parameter `LIMIT`
  /// makes the generic plan's estimate look dearer than a custom plan, though it runs as fast.
  /// Measured in process: name search 1,166 → 2,109 calls/s, phone search 3,584 → 5,099.
  public static var sessionSettings: [String: String] { ["plan_cache_mode": "force_generic_plan"] }
  /// The topic its events go to.
  public static var eventTopic: String { ContactsEvents.topic }

  /// Who may call which of its methods.
  public static var access: AccessPolicy { ContactsAccess.policy }

  /// The RPC service on the PostgreSQL repository.
  /// `pageTokens` seals its page tokens: the same key on every replica.
  public static func rpcService(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random()
  ) -> any RegistrableRPCService {
    ContactsRPCService(repository: PostgresContactsRepository(client: client, logger: logger), pageTokens: pageTokens)
  }
}
