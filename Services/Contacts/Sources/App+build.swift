import CRMRuntime
import Hummingbird

/// Composes the contacts service: its schema, its event topic, its RPCs.
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  let infrastructure = try ServiceInfrastructure(configuration, sessionSettings: ContactsComponents.sessionSettings)
  return try ServiceApplication.build(
    infrastructure,
    migrations: ContactsComponents.migrations,
    publishes: [ContactsComponents.eventTopic],
    access: ContactsComponents.access,
    rpcServices: [
      ContactsComponents.rpcService(
        client: infrastructure.postgres, logger: infrastructure.logger, pageTokens: configuration.pageTokenKey)
    ]
  )
}
