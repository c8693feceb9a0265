import Hummingbird
import Logging
import Metrics
import Prometheus

/// Process-wide logging and metrics backends; bootstrapped once, at start.
public enum Observability {
  /// The registry behind `/metrics`.
  public static let registry = PrometheusCollectorRegistry()

  public static func bootstrap(logLevel: Logger.Level) {
    LoggingSystem.bootstrap { label in
      var handler = StreamLogHandler.standardError(label: label)
      handler.logLevel = logLevel
      return handler
    }
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
  }
}

/// `/metrics` in Prometheus' text format.
public struct MetricsController<Context: RequestContext>: Sendable {
  public var registry: PrometheusCollectorRegistry

  public init(registry: PrometheusCollectorRegistry) {
    self.registry = registry
  }

  public func addRoutes(to router: Router<Context>) {
    router.get("/metrics") { _, _ in
      Response(
        status: .ok,
        headers: [.contentType: "text/plain; version=0.0.4"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer()))
      )
    }
  }
}
