import CRMKafka
import Foundation
import Hummingbird

/// The whole life of a service executable: configuration, observability, one service group
/// that shuts down gracefully on SIGTERM/SIGINT.
///
/// Exit codes: 0 after a graceful shutdown, 2 for a configuration error (nothing started),
/// 1 for any other failure. With the arguments `outbox …` it runs `OutboxCommand` instead.
public enum ServiceMain {
  public static func run<App: ApplicationProtocol>(
    _ service: CRMService,
    environment: [String: String] = ProcessInfo.processInfo.environment,
    build: @Sendable (ServiceConfiguration) throws -> App
  ) async -> Never {
    // `<service> outbox …`: the operator's outbox command instead of the service.
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "outbox" {
      exit(await OutboxCommand.run(Array(arguments.dropFirst()), environment: environment))
    }
    let configuration: ServiceConfiguration
    do {
      configuration = try ServiceConfiguration(service: service, environment: environment)
    } catch {
      fail("\(service.rawValue): configuration error: \(error)", code: 2)
    }
    Observability.bootstrap(logLevel: configuration.logLevel)
    do {
      try KafkaLibrary.requireSupportedVersion()
      let app = try build(configuration)
      app.logger.info(
        "starting",
        metadata: [
          "http": "\(configuration.httpHost):\(configuration.httpPort)", "librdkafka": "\(KafkaLibrary.version)",
        ]
      )
      try await app.runService()
      app.logger.info("stopped")
      exit(0)
    } catch let error as ConfigurationError {
      // A service's own settings, read while it is composed: as malformed as the kit's.
      fail("\(service.rawValue): configuration error: \(error)", code: 2)
    } catch {
      fail("\(service.rawValue): \(error)", code: 1)
    }
  }

  private static func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
  }
}
