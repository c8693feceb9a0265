import CRMRPC
import GRPCCore
import ServiceLifecycle

/// A gRPC server on the Kafka transport as a lifecycle `Service`: it stops taking requests on
/// graceful shutdown and returns once in-flight calls are answered.
public struct RPCServerService: Service {
  public let server: GRPCServer<KafkaServerTransport>

  public init(transport: KafkaServerTransport, services: [any RegistrableRPCService]) {
    server = GRPCServer(transport: transport, services: services, interceptors: [CallerIdentityInterceptor()])
  }

  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await server.serve()
    } onGracefulShutdown: {
      server.beginGracefulShutdown()
    }
  }
}
