import CRMRuntime
import Foundation
import Hummingbird
import ServiceLifecycle

/// Composes the activity service: its schema, its event topic, its RPCs, the contacts and deals
/// events it learns its directory from, the sweep that records offers left without an answer,
/// and the telephony and mail webhooks with the worker that asks contacts for unknown callers'
/// leads (only when the webhooks have their secret: then the service calls contacts, and needs
/// `CRM_SERVICE_SIGNING_KEY_FILE`).
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  let webhooks = try WebhookSettings(environment: ProcessInfo.processInfo.environment)
  let wake = WakeSignal()
  var leadServices: [any Service] = []
  if webhooks.secret != nil {
    let contacts = try ServiceCaller(infrastructure, calling: .contacts)
    leadServices = [
      contacts,
      ActivityComponents.unknownCallers(
        settings: webhooks, leads: ContactsLeads(client: contacts.client), client: postgres, logger: logger,
        wake: wake),
    ]
  }
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
    services: ActivityComponents.services(client: postgres, logger: logger) + leadServices
  )
}
