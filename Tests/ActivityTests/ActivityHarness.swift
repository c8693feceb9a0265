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

@testable import ActivityService

/// The activity RPC service on a fresh schema of the real activity database, in process;
/// contacts and deals are made known the way the service learns them, through its contacts and
/// deals events handlers.
enum ActivityHarness {
  static let logger = Logger(label: "activity-test")

  struct Context {
    let activity: Crm_Activity_V1_Activity.Client<InProcessTransport.Client>
    let database: PostgresClient
    let review: ReviewItemMaker
    /// The repository under the RPCs, for setting up what another principal would have done.
    var repository: PostgresActivityRepository {
      PostgresActivityRepository(client: database, logger: logger, review: review)
    }

    func events(_ type: String) async throws -> [Crm_Events_V1_EventEnvelope] {
      try await database.outboxEvents(type)
    }

    func count(_ query: PostgresQuery) async throws -> Int { try await database.count(query) }

    /// Applies an event of another service's topic as the inbox would (without its duplicate check).
    func deliver(_ payload: some SwiftProtobuf.Message, on topic: String, aggregateID: String, version: Int64 = 1)
      async throws
    {
      let event = try OutboxEvent(
        topic: topic, aggregateID: aggregateID, aggregateVersion: version, actor: "manager:manager-1",
        payload: payload)
      let received = ReceivedEvent(
        envelope: try Crm_Events_V1_EventEnvelope(serializedBytes: event.envelope),
        record: KafkaConsumerMessage(
          topic: event.topic, partition: 0, offset: 0, key: Array(event.key.utf8), value: event.envelope, headers: []))
      try await database.withTransaction(logger: logger) { connection in
        if topic == EventTopics.contacts {
          try await ContactsEventsHandler(logger: logger).apply(received, on: connection)
        } else {
          try await DealsEventsHandler(logger: logger).apply(received, on: connection)
        }
      }
    }

    /// A contact the service knows, as if the contacts service had created it.
    func knownContact(owner: String = "manager-1") async throws -> String {
      let id = UUID().uuidString.lowercased()
      try await deliver(
        Crm_Contacts_V1_ContactCreated.with {
          $0.contact.id = id
          $0.contact.name = "Иван Петров"
          $0.contact.ownerID = owner
        }, on: EventTopics.contacts, aggregateID: id)
      return id
    }

    /// A deal the service knows, as if the deals service had opened it.
    func knownDeal(contact: String, owner: String = "manager-1") async throws -> String {
      let id = UUID().uuidString.lowercased()
      try await deliver(
        Crm_Deals_V1_DealOpened.with {
          $0.deal.id = id
          $0.deal.contactID = contact
          $0.deal.ownerID = owner
          $0.deal.status = .open
          $0.deal.version = 1
        }, on: EventTopics.deals, aggregateID: id)
      return id
    }

    /// `meeting_place` (choice: Office, Client site), `weather` (text), `arrival_delay_min`
    /// (number) and `arrived_at` (time), as a head of sales defines them (through the repository:
    /// the harness may call as a manager).
    func meetingCatalogue() async throws {
      let attributes: [(String, Crm_Activity_V1_AttributeType, [String])] = [
        ("meeting_place", .choice, ["Office", "Client site"]), ("weather", .text, []),
        ("arrival_delay_min", .number, []), ("arrived_at", .time, []),
      ]
      for (key, type, choices) in attributes {
        _ = try await repository.defineAttribute(
          AttributeDefinition(key: key, label: key, type: type, choices: choices, retired: false), expectedVersion: 0,
          actor: "head_of_sales:head-1")
      }
    }
  }

  /// Review items made with the tests' code key (as the executables are given it).
  static let review = ReviewItemMaker(settings: try! ReviewSettings(key: Array(TestIdentity.reviewCodeKey.utf8)))

  /// `mailSender`: who SendEmail sends as (an SMTP server configured); nil: it logs only.
  static func with(
    caller: String = "manager:manager-1", mailSender: MailSender? = nil, _ body: (Context) async throws -> Void
  ) async throws {
    // A maker per run: its cache of the directory's names belongs to one fresh schema.
    let review = ReviewItemMaker(settings: Self.review.settings)
    let services: (PostgresClient) -> [any RegistrableRPCService] = {
      [
        ActivityRPCService(
          repository: PostgresActivityRepository(client: $0, logger: logger, review: review), pageTokens: .random(),
          mailSender: mailSender)
      ]
    }
    try await InProcessService.with(
      database: "activity", migrations: ActivitySchema.migrations, caller: caller, access: ActivityComponents.access,
      services: services
    ) { client, database in
      try await body(
        Context(activity: Crm_Activity_V1_Activity.Client(wrapping: client), database: database, review: review))
    }
  }
}
