import CRMRuntime
import Hummingbird

/// Composes the contacts service: its schema, its RPCs on the PostgreSQL repository.
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  let infrastructure = try ServiceInfrastructure(configuration)
  let repository = PostgresContactsRepository(client: infrastructure.postgres, logger: infrastructure.logger)
  return try ServiceApplication.build(
    infrastructure,
    migrations: ContactsSchema.migrations,
    publishes: [ContactsEvents.topic],
    rpcServices: [ContactsRPCService(repository: repository)]
  )
}
