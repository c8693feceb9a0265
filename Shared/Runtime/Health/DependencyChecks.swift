import CRMKafka
import CRMRPC
import PostgresNIO

extension ReadinessCheck {
  /// The service's own database answers a query.
  public static func postgres(_ client: PostgresClient) -> ReadinessCheck {
    ReadinessCheck(name: "postgres") {
      _ = try await client.query("SELECT 1").collect()
    }
  }

  /// A broker answers a metadata request.
  public static func kafka(_ admin: KafkaAdmin, timeout: Duration) -> ReadinessCheck {
    ReadinessCheck(name: "kafka") {
      let metadata = try await admin.clusterMetadata(timeout: timeout)
      guard !metadata.brokers.isEmpty else { throw KafkaError(.broker, "metadata lists no broker") }
    }
  }
}

extension ReadinessCheck {
  /// The service's migrations are applied.
  public static func schema(_ gate: SchemaGate) -> ReadinessCheck {
    ReadinessCheck(name: "schema") { try gate.check() }
  }

  /// The service takes requests: its group gave it request partitions.
  public static func rpcServer(_ transport: KafkaServerTransport) -> ReadinessCheck {
    ReadinessCheck(name: "rpc") {
      guard transport.isServing else { throw RPCServerNotServing() }
    }
  }
}

struct RPCServerNotServing: Error, CustomStringConvertible {
  var description: String {
    "no request partition assigned yet (joining the group takes seconds; more replicas than CRM_RPC_PARTITIONS get none)"
  }
}
