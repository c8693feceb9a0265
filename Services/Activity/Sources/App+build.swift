import CRMRuntime
import Hummingbird

/// Composes the activity service from the runtime kit; its RPC handlers join here as they are built.
public func buildApplication(_ configuration: ServiceConfiguration) throws -> some ApplicationProtocol {
  let infrastructure = try ServiceInfrastructure(configuration)
  return try ServiceApplication.build(infrastructure)
}
