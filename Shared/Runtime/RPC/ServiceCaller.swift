import CRMIdentity
import CRMRPC
import GRPCCore
import Logging
import ServiceLifecycle

/// Calls from one CRM service to another (e.g. activity asking contacts to create a lead): over
/// the broker like any client, as the service's own principal `service:<name>`, with tokens it
/// signs with `CRM_SERVICE_SIGNING_KEY_FILE` (whose public half the called services verify).
/// Run it among the service's background services; wrap `client` in the generated client of the
/// service called.
public final class ServiceCaller: Service, Sendable {
  public let client: GRPCClient<KafkaClientTransport>
  /// Who the calls are made as.
  public let principal: Principal

  /// Calls to `target`. The error names the signing key variable when it is missing or unusable.
  public init(_ infrastructure: ServiceInfrastructure, calling target: CRMService) throws(ConfigurationError) {
    let configuration = infrastructure.configuration
    let issuer = try configuration.serviceTokenIssuer()
    let caller: Principal
    do {
      caller = try Principal(subject: configuration.service.rawValue, roles: [.service])
    } catch {
      preconditionFailure("a service's name is a valid subject: \(error)")
    }
    principal = caller
    var logger = infrastructure.logger
    logger[metadataKey: "calling"] = "\(target.rawValue)"
    let transport = KafkaClientTransport(
      configuration: .init(
        kafka: configuration.kafka, service: target.rawValue, caller: caller,
        fetchWait: configuration.rpcFetchWait, defaultTimeout: .seconds(10)),
      logger: logger)
    client = GRPCClient(
      transport: transport,
      interceptors: [TokenClientInterceptor(issuer: issuer, principal: caller, audience: [target.rawValue])])
  }

  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await client.runConnections()
    } onGracefulShutdown: {
      self.client.beginGracefulShutdown()
    }
  }
}
