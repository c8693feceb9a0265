import CRMDatabase
import GRPCCore
import Logging
import PostgresNIO

/// The parts of the contacts service, for its executable and for tools that host it in
/// process (`crm-bench contacts`).
public enum ContactsComponents {
  /// The service's own migrations (the runtime adds the outbox and inbox tables).
  public static var migrations: [Migration] { ContactsSchema.migrations }
  /// The topic its events go to.
  public static var eventTopic: String { ContactsEvents.topic }

  /// The RPC service on the PostgreSQL repository.
  public static func rpcService(client: PostgresClient, logger: Logger) -> any RegistrableRPCService {
    ContactsRPCService(repository: PostgresContactsRepository(client: client, logger: logger))
  }
}
