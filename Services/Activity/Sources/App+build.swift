import CRMRuntime
import Foundation
import Hummingbird

/// Composes the activity service: its schema, its event topic, its RPCs, the contacts and deals
/// events it learns its directory from, the sweep that records offers left without an answer,
/// the end-of-day reports (`HygieneSettings`: `CRM_END_OF_DAY`, `CRM_HOLIDAYS`, …), and mail
/// (`MailConfiguration`: `CRM_SMTP_URL`, `CRM_SMTP_FROM`, …).
public func buildApplication(
  _ configuration: ServiceConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment
) throws -> some ApplicationProtocol {
  // The service's own settings first: a bad one stops it before anything starts.
  let hygiene = try HygieneSettings(environment: environment)
  let smtp = try MailConfiguration.read(EnvironmentReader(environment))
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  return try ServiceApplication.build(
    infrastructure,
    migrations: ActivityComponents.migrations,
    publishes: [ActivityComponents.eventTopic],
    access: ActivityComponents.access,
    rpcServices: [
      ActivityComponents.rpcService(
        client: postgres, logger: logger, pageTokens: configuration.pageTokenKey, hygiene: hygiene, smtp: smtp)
    ],
    subscriptions: ActivityComponents.subscriptions(logger: logger),
    services: ActivityComponents.services(client: postgres, logger: logger, hygiene: hygiene, smtp: smtp)
  )
}
