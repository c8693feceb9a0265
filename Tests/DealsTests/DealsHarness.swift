import CRMContracts
import CRMEvents
import CRMKafka
import CRMTestSupport
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import PostgresNIO
import SwiftProtobuf

@testable import DealsService

/// The deals RPC service on a fresh schema of the real deals database, in process; contacts are
/// made known the way the service learns them, through its contacts events handler.
enum DealsHarness {
  static let logger = Logger(label: "deals-test")

  struct Context {
    let deals: Crm_Deals_V1_Deals.Client<InProcessTransport.Client>
    let database: PostgresClient
    var handler: ContactsEventsHandler {
      ContactsEventsHandler(repository: PostgresDealsRepository(client: database, logger: logger))
    }

    func events(_ type: String) async throws -> [Crm_Events_V1_EventEnvelope] {
      try await database.outboxEvents(type)
    }

    func count(_ query: PostgresQuery) async throws -> Int { try await database.count(query) }

    /// Applies a contacts event as the inbox would (without its duplicate check).
    func deliver(_ payload: some SwiftProtobuf.Message, aggregateID: String, actor: String = "manager-1") async throws {
      let event = try OutboxEvent(
        topic: ContactsEventsHandler.contactsTopic, aggregateID: aggregateID, aggregateVersion: 1, actor: actor,
        payload: payload)
      let received = ReceivedEvent(
        envelope: try Crm_Events_V1_EventEnvelope(serializedBytes: event.envelope),
        record: KafkaConsumerMessage(
          topic: event.topic, partition: 0, offset: 0, key: Array(event.key.utf8), value: event.envelope, headers: []))
      try await database.withTransaction(logger: logger) { try await handler.apply(received, on: $0) }
    }

    /// A contact the deals service knows, as if the contacts service had created it.
    func knownContact(owner: String = "manager-1") async throws -> String {
      let id = UUID().uuidString.lowercased()
      try await deliver(
        Crm_Contacts_V1_ContactCreated.with {
          $0.contact.id = id
          $0.contact.name = "Иван Петров"
          $0.contact.ownerID = owner
        }, aggregateID: id)
      return id
    }

    /// A five-stage pipeline for `line`: contact, presentation, proposal, contract, invoice.
    func salesPipeline(line: String = "equipment") async throws -> Crm_Deals_V1_Pipeline {
      try await deals.definePipeline(DealsHarness.pipelineRequest(line: line))
    }

    func openDeal(contact: String, pipeline: Crm_Deals_V1_Pipeline, owner: String = "manager-1") async throws
      -> Crm_Deals_V1_Deal
    {
      try await deals.openDeal(
        .with {
          $0.contactID = contact
          $0.pipelineID = pipeline.id
          $0.ownerID = owner
          $0.kind = .active
          $0.source = "cold call"
          $0.amount = .with {
            $0.minorUnits = 150_000_00
            $0.currency = "rub"
          }
        })
    }
  }

  static let stageNames = ["First contact", "Presentation", "Proposal", "Contract approval", "Invoice payment"]

  static func pipelineRequest(line: String) -> Crm_Deals_V1_DefinePipelineRequest {
    .with {
      $0.businessLine = line
      $0.name = "Sales of \(line)"
      $0.stages = zip(stageNames, [10, 20, 40, 60, 90]).map { name, probability in
        .with {
          $0.name = name
          $0.result = "\(name) done"
          $0.defaultProbability = Int32(probability)
        }
      }
      $0.lossReasons = ["Price too high", "Chose a competitor"]
    }
  }

  static func with(caller: String = "head_of_sales:head-1", _ body: (Context) async throws -> Void) async throws {
    let services: (PostgresClient) -> [any RegistrableRPCService] = {
      [DealsRPCService(repository: PostgresDealsRepository(client: $0, logger: logger), pageTokens: .random())]
    }
    try await InProcessService.with(
      database: "deals", migrations: DealsSchema.migrations, caller: caller, access: DealsComponents.access,
      services: services
    ) { client, database in
      try await body(Context(deals: Crm_Deals_V1_Deals.Client(wrapping: client), database: database))
    }
  }
}
