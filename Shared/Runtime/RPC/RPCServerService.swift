import CRMIdentity
import CRMRPC
import Foundation
import GRPCCore
import ServiceLifecycle

/// A gRPC server on the Kafka transport as a lifecycle `Service`: it stops taking requests on
/// graceful shutdown and returns once in-flight calls are answered.
public struct RPCServerService: Service {
  public let server: GRPCServer<KafkaServerTransport>

  /// What every server of a service runs before a handler: who calls (verified by `verifier`),
  /// whether `policy` lets him call the method, the request's idempotency key (and, in crash
  /// tests only, the fault).
  public static func interceptors(verifier: TokenVerifier, policy: AccessPolicy) -> [any ServerInterceptor] {
    [RequestContextInterceptor(verifier: verifier, policy: policy)] + CrashAfterHandler.fromEnvironment()
  }

  public init(
    transport: KafkaServerTransport, services: [any RegistrableRPCService], verifier: TokenVerifier,
    policy: AccessPolicy
  ) {
    server = GRPCServer(
      transport: transport, services: services, interceptors: Self.interceptors(verifier: verifier, policy: policy))
  }

  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await server.serve()
    } onGracefulShutdown: {
      server.beginGracefulShutdown()
    }
  }
}

/// A fault for the crash tests: `CRM_TEST_CRASH_AFTER=<method>:<marker file>` kills the process
/// (SIGKILL) right after a call of `<method>` returned from its handler — its database commit
/// done, its reply and offset commit not — once: the marker file records that it happened.
struct CrashAfterHandler: ServerInterceptor {
  var method: String
  var marker: String

  static func fromEnvironment() -> [any ServerInterceptor] {
    guard let setting = ProcessInfo.processInfo.environment["CRM_TEST_CRASH_AFTER"],
      let colon = setting.firstIndex(of: ":")
    else { return [] }
    return [
      CrashAfterHandler(method: String(setting[..<colon]), marker: String(setting[setting.index(after: colon)...]))
    ]
  }

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let response = try await next(request, context)
    guard context.descriptor.method == method else { return response }
    // Unary handlers have run by now: the response holds the message, not yet sent.
    if !FileManager.default.fileExists(atPath: marker), FileManager.default.createFile(atPath: marker, contents: nil) {
      kill(getpid(), SIGKILL)
    }
    return response
  }
}
