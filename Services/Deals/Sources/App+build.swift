import CRMRuntime
import Hummingbird

/// Composes the deals service: its schema, its event topic, its RPCs, and the contacts events
/// it applies (converted leads open deals).
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  return try ServiceApplication.build(
    infrastructure,
    migrations: DealsComponents.migrations,
    publishes: [DealsComponents.eventTopic],
    access: DealsComponents.access,
    rpcServices: [DealsComponents.rpcService(client: postgres, logger: logger, pageTokens: configuration.pageTokenKey)],
    subscriptions: [DealsComponents.contactsSubscription(client: postgres, logger: logger)]
  )
}
