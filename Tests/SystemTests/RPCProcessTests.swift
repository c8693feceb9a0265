import CRMContracts
import CRMKafka
import CRMRPC
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// RPC against service executables, as deployed: real processes on a broker of the test's own.
@Suite("RPC to service processes")
struct RPCProcessTests {
  @Test func callerGetsDeadlineExceededWhenTheServerIsKilledMidCall() async throws {
    let broker = try await PrivateBroker()
    let port = freeLocalPort()
    let server = try ChildProcess(
      LocalStack.binDirectory.appendingPathComponent("contacts"),
      environment: [
        "CRM_DATABASE_URL": LocalStack.databaseURL("contacts"),
        "CRM_KAFKA_BROKERS": broker.brokers,
        "CRM_HTTP_PORT": "\(port)",
        "CRM_LOG_LEVEL": "warning",
      ]
    )
    let ready = try await HTTPProbe.waitForStatus("http://127.0.0.1:\(port)/health/ready", 200, within: .seconds(40))
    try #require(ready == 200, "contacts never became ready: \(server.standardError)")

    let client = GRPCClient(
      transport: KafkaClientTransport(
        configuration: .init(
          kafka: KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "kill-test"),
          service: "contacts"
        ),
        logger: Logger(label: "kill-test")
      )
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await client.runConnections() }
      let diagnostics = Crm_Common_V1_Diagnostics.Client(wrapping: client)
      #expect(try await diagnostics.echo(.with { $0.text = "alive" }).servedBy == "contacts")

      var options = CallOptions.defaults
      options.timeout = .seconds(3)
      let started = ContinuousClock.now
      group.addTask {
        try await Task.sleep(for: .seconds(1))
        server.signal(SIGKILL)  // mid-call: the handler sleeps 5 s
      }
      await #expect {
        _ = try await diagnostics.echo(
          .with {
            $0.text = "doomed"
            $0.delayMs = 5000
          }, options: options)
      } throws: { error in
        (error as? RPCError)?.code == .deadlineExceeded
      }
      let elapsed = ContinuousClock.now - started
      #expect(elapsed >= .milliseconds(2900) && elapsed < .seconds(5), "failed after \(elapsed)")
      #expect(try await server.waitForExit(within: .seconds(5)) == SIGKILL)
      client.beginGracefulShutdown()
      try await group.waitForAll()
    }
  }
}
