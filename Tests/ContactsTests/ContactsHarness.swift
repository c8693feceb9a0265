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

/// The contacts RPC service on a fresh schema of the real contacts database, in process.
enum ContactsHarness {
  static let logger = Logger(label: "contacts-test")

  struct Context {
    let contacts: Crm_Contacts_V1_Contacts.Client<InProcessTransport.Client>
    let database: PostgresClient

    /// Events in the outbox, by payload type.
    func events(_ type: String) async throws -> [Crm_Events_V1_EventEnvelope] {
      try await database.outboxEvents(type)
    }

    func count(_ query: PostgresQuery) async throws -> Int { try await database.count(query) }
  }

  static func with(caller: String = "head_of_sales:head-1", _ body: (Context) async throws -> Void) async throws {
    let services: (PostgresClient) -> [any RegistrableRPCService] = {
      [ContactsRPCService(repository: PostgresContactsRepository(client: $0, logger: logger), pageTokens: .random())]
    }
    try await InProcessService.with(
      database: "contacts", migrations: ContactsSchema.migrations,
      sessionSettings: ContactsComponents.sessionSettings, caller: caller, access: ContactsComponents.access,
      services: services
    ) { client, database in
      try await body(Context(contacts: Crm_Contacts_V1_Contacts.Client(wrapping: client), database: database))
    }
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
