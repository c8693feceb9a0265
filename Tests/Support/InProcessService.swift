import CRMContracts
import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMRPC
import CRMRuntime
import GRPCCore
import GRPCInProcessTransport
import Logging
import PostgresNIO

/// A service's RPC handlers on a fresh schema of its real database, called through GRPCCore's
/// in-process transport (same handlers, interceptors and status mapping as over Kafka).
public enum InProcessService {
  static let logger = Logger(label: "in-process-service")

  /// Applies the outbox, inbox and `migrations` to a fresh schema of `database`, serves
  /// `services(client)` behind token verification and `access`, and calls `body` with a client
  /// that calls as `caller` ("role:subject", e.g. "manager:m-1").
  public static func with(
    database service: String,
    migrations: [Migration],
    sessionSettings: [String: String] = [:],
    caller: String,
    access: AccessPolicy = AccessPolicy(),
    services: (PostgresClient) -> [any RegistrableRPCService],
    _ body: (GRPCClient<InProcessTransport.Client>, PostgresClient) async throws -> Void
  ) async throws {
    try await TestSchema.with(database: service, sessionSettings: sessionSettings) { makeClient in
      let database = makeClient()
      try await whileRunning(database) {
        try await MigrationRunner.apply(
          ServiceApplication.kitMigrations + migrations, on: database, logger: logger)
        let transport = InProcessTransport()
        let server = GRPCServer(
          transport: transport.server, services: services(database),
          interceptors: RPCServerService.interceptors(
            verifier: TestIdentity.verifier(for: CRMService(rawValue: service)!),
            policy: AccessPolicy.diagnostics.merging(access)))
        let client = GRPCClient(transport: transport.client, interceptors: [TestIdentity.caller(caller)])
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await server.serve() }
          group.addTask { try await client.runConnections() }
          defer {
            client.beginGracefulShutdown()
            server.beginGracefulShutdown()
          }
          try await body(client, database)
        }
      }
    }
  }
}

extension PostgresClient {
  /// The envelopes in this schema's outbox with payload `type`, in order.
  public func outboxEvents(_ type: String) async throws -> [Crm_Events_V1_EventEnvelope] {
    var envelopes: [Crm_Events_V1_EventEnvelope] = []
    for try await bytes in try await query("SELECT envelope FROM outbox WHERE type = \(type) ORDER BY id")
      .decode(ByteBuffer.self)
    {
      envelopes.append(try Crm_Events_V1_EventEnvelope(serializedBytes: Array(buffer: bytes)))
    }
    return envelopes
  }

  /// The single integer `query` returns, -1 when it returns no row.
  public func count(_ query: PostgresQuery) async throws -> Int {
    try await self.query(query).decode(Int.self).first { _ in true } ?? -1
  }
}

/// The status code of a failed call, nil when it succeeded.
public func statusCode(_ call: () async throws -> some Any) async -> RPCError.Code? {
  do {
    _ = try await call()
    return nil
  } catch let error as RPCError {
    return error.code
  } catch {
    return .unknown
  }
}

/// The message of a failed call.
public func failure(_ call: () async throws -> some Any) async -> String {
  do {
    _ = try await call()
    return "(succeeded)"
  } catch let error as RPCError {
    return error.message
  } catch {
    return "\(error)"
  }
}
