import CRMContracts
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// Issue 11, "the broker comes back empty": the local broker keeps topics in memory only, so a
/// restart loses them. A running service must recreate its request and dead-letter topics,
/// join its group again and be ready within seconds; a running client must recreate its reply
/// topic. Before, the service stayed not ready ("partition count changed from 8 to 0").
@Suite("Broker restarted empty")
struct BrokerRestartTests {
  static let logger = Logger(label: "broker-restart")

  @Test(.timeLimit(.minutes(2)))
  func serviceAndClientRecoverWhenTheBrokerComesBackWithoutTopics() async throws {
    let broker = try await PrivateBroker()
    let httpPort = freeLocalPort()
    let service = try ChildProcess(
      LocalStack.binDirectory.appendingPathComponent("activity"),
      environment: [
        "CRM_DATABASE_URL": LocalStack.databaseURL("activity"),
        "CRM_KAFKA_BROKERS": broker.brokers,
        "CRM_TOKEN_VERIFY_KEYS_FILE": TestIdentity.publicKeyFile,
        // The activity service calls contacts (birthdays) as itself.
        "CRM_SERVICE_SIGNING_KEY_FILE": TestIdentity.privateKeyFile,
        "CRM_HTTP_PORT": "\(httpPort)",
        "CRM_LOG_LEVEL": "warning",
      ].merging(TestIdentity.reviewCodeEnvironment("activity")) { _, added in added }
    )
    defer { service.signal(SIGKILL) }
    let ready = "http://127.0.0.1:\(httpPort)/health/ready"
    #expect(try await HTTPProbe.waitForStatus(ready, 200, within: .seconds(40)) == 200, "\(service.standardError)")

    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "broker-restart")
    var clientKafka = kafka
    var clientLogger = Self.logger
    if let debug = ProcessInfo.processInfo.environment["CRM_KAFKA_DEBUG"] {
      clientKafka.properties["debug"] = debug
      clientLogger.logLevel = .debug
    }
    let client = GRPCClient(
      transport: KafkaClientTransport(
        configuration: .init(
          kafka: clientKafka, service: "activity", caller: TestIdentity.principal("operator:restart-test")),
        logger: clientLogger),
      interceptors: [TestIdentity.caller("operator:restart-test")]
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      defer { client.beginGracefulShutdown() }
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: client)
      #expect(try await diagnostics.echo(.with { $0.text = "before" }).text == "before")

      // The same port, a new broker process: no topics, no groups.
      try await broker.kill()
      let restarted = try ChildProcess(
        LocalStack.brokerBinary,
        arguments: [
          "broker", "--listener-url", "tcp://127.0.0.1:\(broker.port)",
          "--advertised-listener-url", "tcp://127.0.0.1:\(broker.port)",
        ],
        environment: ["PATH": "/usr/bin:/bin"]
      )
      defer { restarted.signal(SIGKILL) }
      let admin = try KafkaAdmin(configuration: kafka, logger: Self.logger)
      let back = ContinuousClock.now + .seconds(20)
      while (try? await admin.clusterMetadata(timeout: .seconds(1))) == nil {
        guard ContinuousClock.now < back else { throw BrokerDidNotComeBack(stderr: restarted.standardError) }
        try await Task.sleep(for: .milliseconds(100))
      }
      let restartedAt = ContinuousClock.now

      // Ready again within seconds (joining a group on the local broker alone takes ~3 s).
      #expect(try await HTTPProbe.waitForStatus(ready, 200, within: .seconds(30)) == 200, "\(service.standardError)")
      let readyAfter = ContinuousClock.now - restartedAt
      #expect(readyAfter < .seconds(15), "ready again only after \(readyAfter)")
      let topics = try await admin.listTopics().map(\.name)
      #expect(topics.contains("crm.rpc.activity"))
      #expect(topics.contains("crm.dlq.rpc.activity"))

      // The client's calls are answered again: its reply topic is back.
      var answered = false
      var lastError = ""
      let until = ContinuousClock.now + .seconds(30)
      while !answered && ContinuousClock.now < until {
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        do {
          answered = try await diagnostics.echo(.with { $0.text = "after" }, options: options).text == "after"
        } catch {
          lastError = "\(error)"
          try await Task.sleep(for: .milliseconds(200))
        }
      }
      #expect(
        answered,
        "no call answered within 30 s of the restart (last: \(lastError)); service: \(service.standardError.suffix(2000))"
      )
      Self.logger.notice(
        "ready \(readyAfter) after the restart; calls answered after \(ContinuousClock.now - restartedAt)")
      #expect(service.process.isRunning)
    }
  }

  struct BrokerDidNotComeBack: Error, CustomStringConvertible {
    var stderr: String
    var description: String { "the restarted broker did not answer within 20 s: \(stderr)" }
  }
}
