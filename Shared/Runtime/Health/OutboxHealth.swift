import CRMEvents
import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle

extension ReadinessCheck {
  /// Advisory: no outbox row is parked. A parked row stops only its own aggregate's events, and
  /// every replica shares the outbox: failing readiness would take all of them out of service
  /// for one event. So the service stays ready and says "degraded"; alert on the gauge.
  public static func outbox(_ client: PostgresClient, gauge: Gauge? = nil, logger: Logger) -> ReadinessCheck {
    ReadinessCheck(name: "outbox", advisory: true) {
      let summary = try await OutboxParking.summary(client, logger: logger)
      gauge?.set(Double(summary.parked))
      guard summary.parked == 0 else { throw OutboxRowsParked(summary: summary) }
    }
  }
}

struct OutboxRowsParked: Error, CustomStringConvertible {
  var summary: OutboxParking.Summary
  var description: String {
    "degraded: \(summary.parked) outbox row(s) parked, oldest id \(summary.oldestID ?? 0); "
      + "their aggregates' later events wait (`<service> outbox list`, then `outbox republish`)"
  }
}

/// Keeps `crm_outbox_parked_rows` current, every `interval`.
public struct OutboxParkedGauge: Service {
  /// `crm_outbox_parked_rows`.
  public static var descriptor: MetricNameDescriptor {
    MetricNameDescriptor(
      namespace: "crm", subsystem: "outbox", metricName: "parked", unitName: "rows",
      helpText: "Outbox rows the relay parked after failing to publish them")
  }

  let client: PostgresClient
  let gauge: Gauge
  let interval: Duration
  let logger: Logger

  public init(client: PostgresClient, gauge: Gauge, interval: Duration = .seconds(10), logger: Logger) {
    self.client = client
    self.gauge = gauge
    self.interval = interval
    self.logger = logger
  }

  public func run() async throws {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      if let summary = try? await OutboxParking.summary(client, logger: logger) { gauge.set(Double(summary.parked)) }
      // The wait ends at a graceful shutdown too, which cancels nothing by itself.
      try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
  }
}
