import CRMRuntime
import Hummingbird

/// Composes the activity service: its schema, its event topic, its RPCs, the contacts and deals
/// events it learns its directory from, and the sweep that records offers left without an answer.
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  // Mail settings first: a bad one stops the service before anything starts.
  let smtp = try MailConfiguration.read(configuration.environment)
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
        client: postgres, logger: logger, pageTokens: configuration.pageTokenKey, smtp: smtp)
    ],
    subscriptions: ActivityComponents.subscriptions(logger: logger),
    services: ActivityComponents.services(client: postgres, logger: logger, smtp: smtp)
  )
}
