import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle

/// The webhooks' parts: their HTTP routes and the worker that makes unknown callers' leads.
extension ActivityComponents {
  /// How often the unknown-caller worker looks without being woken.
  public static let unknownCallerSweep: Duration = .seconds(5)

  static func webhookRoutes<Context: RequestContext>(
    settings: WebhookSettings, client: PostgresClient, logger: Logger, wake: WakeSignal
  ) -> WebhookRoutes<Context> {
    WebhookRoutes(
      settings: settings, store: PostgresActivityRepository(client: client, logger: logger), logger: logger,
      unknownCaller: { wake.signal() })
  }

  static func unknownCallers(
    settings: WebhookSettings, leads: any LeadCreating, client: PostgresClient, logger: Logger, wake: WakeSignal
  ) -> any Service {
    UnknownCallers(
      repository: PostgresActivityRepository(client: client, logger: logger), leads: leads,
      defaultOwner: settings.leadOwner, interval: unknownCallerSweep, wake: wake)
  }
}

/// The webhooks for tools that host them in process (the bench): the routes on a router of
/// theirs, and a sender's signature.
extension ActivityComponents {
  public static func addWebhookRoutes<Context: RequestContext>(
    to router: Router<Context>, secret: [UInt8], client: PostgresClient, logger: Logger
  ) {
    WebhookRoutes<Context>(
      settings: WebhookSettings(secret: secret), store: PostgresActivityRepository(client: client, logger: logger),
      logger: logger
    ).addRoutes(to: router)
  }

  /// The `X-CRM-Signature` value of `body` sent at `timestamp` (unix seconds).
  public static func webhookSignature(_ body: [UInt8], secret: [UInt8], timestamp: Int64) -> String {
    WebhookSignature(secret: secret).sign(body, timestamp: timestamp)
  }
}
