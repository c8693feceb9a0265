import CRMRuntime
import Foundation
import Hummingbird

/// Composes the activity service: its schema, its event topic, its RPCs, the contacts and deals
/// events it learns its directory from, the sweep that records offers left without an answer,
/// and the telephony and mail webhooks.
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  let webhooks = try WebhookSettings(environment: ProcessInfo.processInfo.environment)
  let wake = WakeSignal()
  return try ServiceApplication.build(
    infrastructure,
    migrations: ActivityComponents.migrations,
    publishes: [ActivityComponents.eventTopic],
    access: ActivityComponents.access,
    rpcServices: [
      ActivityComponents.rpcService(client: postgres, logger: logger, pageTokens: configuration.pageTokenKey)
    ],
    subscriptions: ActivityComponents.subscriptions(logger: logger),
    routes: { router in
      ActivityComponents.webhookRoutes(settings: webhooks, client: postgres, logger: logger, wake: wake)
        .addRoutes(to: router)
    },
    services: ActivityComponents.services(client: postgres, logger: logger)
  )
}
