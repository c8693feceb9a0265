import CRMRuntime
import Hummingbird

/// Composes the reporting service: its schema, its RPCs and its one inbox of every service's
/// events. It publishes nothing, so it runs no outbox relay.
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  let infrastructure = try ServiceInfrastructure(configuration)
  let postgres = infrastructure.postgres
  let logger = infrastructure.logger
  return try ServiceApplication.build(
    infrastructure,
    migrations: ReportingComponents.migrations,
    access: ReportingComponents.access,
    rpcServices: [
      ReportingComponents.rpcService(client: postgres, logger: logger, pageTokens: configuration.pageTokenKey)
    ],
    subscriptions: [ReportingComponents.eventsSubscription(logger: logger)]
  )
}
