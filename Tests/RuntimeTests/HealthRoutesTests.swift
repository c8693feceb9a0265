import CRMRuntime
import CRMTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Testing

/// The runtime kit's HTTP endpoints, in process, against the real local stack.
@Suite("Health and metrics endpoints")
struct HealthRoutesTests {
  /// Each test runs its RPC server on a broker of its own: servers of one service on one broker
  /// share a consumer group, and tests joining and leaving it at once would rebalance each other.
  func application(
    brokers: String,
    databaseURL: String = LocalStack.databaseURL("contacts"),
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
  ) throws -> some ApplicationProtocol {
    let configuration = try ServiceConfiguration(
      service: .contacts,
      environment: ["CRM_DATABASE_URL": databaseURL, "CRM_KAFKA_BROKERS": brokers].merging(TestIdentity.environment) {
        $1
      }
    )
    return try ServiceApplication.build(try ServiceInfrastructure(configuration), registry: registry)
  }

  func readinessResults(_ body: ByteBuffer) throws -> [String: String] {
    let json = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]
    return json?["checks"] as? [String: String] ?? [:]
  }

  @Test func readyWhenDatabaseBrokerAndRPCServerAnswer() async throws {
    let broker = try await PrivateBroker()
    try await application(brokers: broker.brokers).test(.router) { client in
      try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
      // The RPC server joins its consumer group first (a few seconds on the local broker, over
      // 30 s once on a CI machine running the whole suite); a check that times out once while
      // the machine is busy is asked again until the deadline.
      let ready = ["postgres": "ok", "kafka": "ok", "schema": "ok", "rpc": "ok"]
      var results: [String: String] = [:]
      let started = ContinuousClock.now
      let deadline = started + .seconds(90)
      while results != ready && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(200))
        results = try await client.execute(uri: "/health/ready", method: .get) { response in
          let results = try readinessResults(response.body)
          #expect((response.status == .ok) == (results.values.allSatisfy { $0 == "ok" }))
          return results
        }
      }
      #expect(results == ready, "not ready after \(ContinuousClock.now - started): \(results)")
    }
  }

  @Test func notReadyWhenNoBrokerAnswers() async throws {
    let closedPort = ClosedPort()
    try await application(brokers: closedPort.address).test(.router) { client in
      try await client.execute(uri: "/health/live", method: .get) { #expect($0.status == .ok) }
      // Never ready without a broker; PostgreSQL answers (its check, timing out once while the
      // machine is busy, is asked again until the deadline, as in the test above).
      var postgres: String?
      let deadline = ContinuousClock.now + .seconds(30)
      repeat {
        postgres = try await client.execute(uri: "/health/ready", method: .get) { response in
          #expect(response.status == .serviceUnavailable)
          let checks = try readinessResults(response.body)
          #expect(checks["kafka"] != nil && checks["kafka"] != "ok")
          return checks["postgres"]
        }
      } while postgres != "ok" && ContinuousClock.now < deadline
      #expect(postgres == "ok")
    }
  }

  @Test func notReadyWhenTheDatabaseRefusesTheRole() async throws {
    let wrongPassword = LocalStack.databaseURL("contacts").replacingOccurrences(of: "_local@", with: "_wrong@")
    let broker = try await PrivateBroker()
    try await application(brokers: broker.brokers, databaseURL: wrongPassword).test(.router) { client in
      try await client.execute(uri: "/health/ready", method: .get) { response in
        #expect(response.status == .serviceUnavailable)
        let checks = try readinessResults(response.body)
        #expect(checks["kafka"] == "ok")
        #expect(checks["postgres"] != nil && checks["postgres"] != "ok")
        #expect(checks["schema"] == "database migrations not applied yet")
      }
    }
  }

  @Test func metricsSpeakPrometheusText() async throws {
    let registry = PrometheusCollectorRegistry()
    registry.makeCounter(
      descriptor: MetricNameDescriptor(
        namespace: "crm", metricName: "test_events", unitName: "total", helpText: "A test counter.")
    ).increment(
      by: Int64(3))
    let broker = try await PrivateBroker()
    try await application(brokers: broker.brokers, registry: registry).test(.router) { client in
      try await client.execute(uri: "/metrics", method: .get) { response in
        #expect(response.status == .ok)
        #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
        #expect(String(buffer: response.body).contains("crm_test_events_total 3"))
      }
    }
  }
}
