import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMRuntime
import GRPCCore
import Logging
import PostgresNIO

/// The parts of the quality-control service, for its executable and for tools and tests that
/// host it in process.
public enum QualityControlComponents {
  /// The service's own migrations (the runtime adds the outbox and inbox tables).
  public static var migrations: [Migration] { QualityControlSchema.migrations }
  /// The topic its events go to.
  public static var eventTopic: String { QualityControlEvents.topic }

  /// Who may call which of its methods.
  public static var access: AccessPolicy { QualityControlAccess.policy }

  public static func rpcService(client: PostgresClient, logger: Logger, settings: QualityControlSettings)
    -> any RegistrableRPCService
  {
    QualityControlRPCService(
      repository: PostgresQualityControlRepository(client: client, logger: logger, settings: settings))
  }

  /// Its one subscription: the review items (and nothing else, DESIGN §2).
  public static func reviewItemsSubscription(client: PostgresClient, logger: Logger, settings: QualityControlSettings)
    -> InboxSubscription
  {
    ReviewItemsHandler(
      repository: PostgresQualityControlRepository(client: client, logger: logger, settings: settings)
    ).subscription
  }
}
