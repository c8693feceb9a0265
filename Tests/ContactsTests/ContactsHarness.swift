import CRMContracts
import CRMDatabase
import CRMEvents
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import PostgresNIO

@testable import ContactsService

/// The contacts RPC service on a fresh schema of the real contacts database, called through
/// GRPCCore's in-process transport (same handlers, interceptors and status mapping as over Kafka).
enum ContactsHarness {
  static let logger = Logger(label: "contacts-test")

  struct Context {
    let contacts: Crm_Contacts_V1_Contacts.Client<InProcessTransport.Client>
    let database: PostgresClient

    /// Events in the outbox, by payload type.
    func events(_ type: String) async throws -> [Crm_Events_V1_EventEnvelope] {
      var envelopes: [Crm_Events_V1_EventEnvelope] = []
      for try await bytes in try await database.query("SELECT envelope FROM outbox WHERE type = \(type) ORDER BY id")
        .decode(ByteBuffer.self)
      {
        envelopes.append(try Crm_Events_V1_EventEnvelope(serializedBytes: Array(buffer: bytes)))
      }
      return envelopes
    }

    func count(_ query: PostgresQuery) async throws -> Int {
      try await database.query(query).decode(Int.self).first { _ in true } ?? -1
    }
  }

  static func with(caller: String = "manager-1", _ body: (Context) async throws -> Void) async throws {
    try await TestSchema.with(database: "contacts") { makeClient in
      let database = makeClient()
      try await whileRunning(database) {
        try await MigrationRunner.apply(
          Outbox.migrations + InboxConsumer.migrations + ContactsSchema.migrations, on: database, logger: logger)
        let transport = InProcessTransport()
        let server = GRPCServer(
          transport: transport.server,
          services: [ContactsRPCService(repository: PostgresContactsRepository(client: database, logger: logger))],
          interceptors: [CallerIdentityInterceptor()]
        )
        let client = GRPCClient(
          transport: transport.client, interceptors: [CallerIdentityClientInterceptor(caller: caller)])
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await server.serve() }
          group.addTask { try await client.runConnections() }
          defer {
            client.beginGracefulShutdown()
            server.beginGracefulShutdown()
          }
          try await body(Context(contacts: Crm_Contacts_V1_Contacts.Client(wrapping: client), database: database))
        }
      }
    }
  }
}

/// The status code of a failed call, nil when it succeeded.
func statusCode(_ call: () async throws -> some Any) async -> RPCError.Code? {
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
func failure(_ call: () async throws -> some Any) async -> String {
  do {
    _ = try await call()
    return "(succeeded)"
  } catch let error as RPCError {
    return error.message
  } catch {
    return "\(error)"
  }
}

func contactRequest(
  _ name: String, phones: [String] = [], emails: [String] = [], owner: String = "manager-1"
) -> Crm_Contacts_V1_CreateContactRequest {
  .with {
    $0.name = name
    $0.phones = phones.map { number in .with { $0.number = number } }
    $0.emails = emails.map { address in .with { $0.address = address } }
    $0.ownerID = owner
  }
}
