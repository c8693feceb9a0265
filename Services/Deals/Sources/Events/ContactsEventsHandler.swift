import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import PostgresNIO
import SwiftProtobuf

/// What the deals service takes from the contacts service's events (DESIGN §2: ids and owners
/// only): which contacts and companies exist, and the deal a converted lead asks for.
struct ContactsEventsHandler: Sendable {
  static let contactsTopic = EventTopics.contacts

  let repository: PostgresDealsRepository

  /// The inbox consumer of the contacts events (group and dead letters `deals-contacts`).
  var subscription: InboxSubscription {
    InboxSubscription(name: "deals-contacts", topics: [Self.contactsTopic]) { event, connection in
      try await apply(event, on: connection)
    }
  }

  /// Applies one event; an event that cannot be applied (a conversion into an unknown pipeline)
  /// is rejected to the dead letter topic. Types the deals service does not use are recorded only.
  func apply(_ event: ReceivedEvent, on connection: PostgresConnection) async throws {
    let envelope = event.envelope
    do {
      switch envelope.type {
      case Crm_Contacts_V1_ContactCreated.protoMessageName:
        let contact = try Crm_Contacts_V1_ContactCreated(serializedBytes: envelope.payload).contact
        try await remember(contact: contact.id, owner: contact.ownerID, archived: contact.archived, on: connection)
        for membership in contact.companies { try await remember(company: membership.companyID, on: connection) }
      case Crm_Contacts_V1_ContactUpdated.protoMessageName:
        let contact = try Crm_Contacts_V1_ContactUpdated(serializedBytes: envelope.payload).contact
        try await remember(contact: contact.id, owner: contact.ownerID, archived: contact.archived, on: connection)
      case Crm_Contacts_V1_ContactArchived.protoMessageName:
        let archived = try Crm_Contacts_V1_ContactArchived(serializedBytes: envelope.payload)
        try await remember(contact: archived.contactID, owner: nil, archived: true, on: connection)
      case Crm_Contacts_V1_CompanyCreated.protoMessageName:
        let company = try Crm_Contacts_V1_CompanyCreated(serializedBytes: envelope.payload).company
        try await remember(company: company.id, on: connection)
      case Crm_Contacts_V1_LeadConverted.protoMessageName:
        let converted = try Crm_Contacts_V1_LeadConverted(serializedBytes: envelope.payload)
        try await openDeal(
          for: converted, actor: envelope.actor,
          occurredAt: envelope.hasOccurredAt ? try envelope.occurredAt.checkedDate("envelope.occurred_at") : nil,
          on: connection)
      default:
        break
      }
    } catch let error as SwiftProtobuf.BinaryDecodingError {
      throw EventRejected("\(envelope.type): the payload does not decode (\(error))")
    } catch let error as NotFound {
      throw EventRejected("\(envelope.type): \(error)")
    } catch let error as InvalidField {
      throw EventRejected("\(envelope.type): \(error)")
    } catch let error as RuleBroken {
      throw EventRejected("\(envelope.type): \(error)")
    }
  }

  /// The lead's deal: the requested pipeline, at its first stage, owned by the lead's owner; an
  /// inbound (consultative) sale, since the lead came to us. Opened once per lead.
  private func openDeal(
    for converted: Crm_Contacts_V1_LeadConverted, actor: String, occurredAt: Date?, on connection: PostgresConnection
  ) async throws {
    let lead = converted.lead
    // The lead's owner only for a contact not known yet: a lead converted into an existing card
    // (a duplicate) leaves that card's owner, and a late conversion must not undo an owner
    // change that came with the contact's own events (another partition).
    try await remember(
      contact: converted.contactID, owner: nil, ownerIfNew: lead.ownerID, archived: nil, on: connection)
    if !converted.companyID.isEmpty { try await remember(company: converted.companyID, on: connection) }
    let deal = DealInput.NewDeal(
      contactID: try DealInput.id(converted.contactID, "contact_id"),
      companyID: converted.companyID.isEmpty ? nil : try DealInput.id(converted.companyID, "company_id"),
      pipelineID: try DealInput.id(converted.pipelineID, "pipeline_id"),
      ownerID: lead.ownerID,
      kind: .consultative,
      source: lead.source,
      amount: Crm_Common_V1_Money(),
      expectedClose: nil,
      leadID: try DealInput.id(lead.id, "lead.id"),
      // Opened when the lead was converted (an imported history's conversion keeps its time).
      openedAt: occurredAt)
    _ = try await repository.insertDeal(deal, actor: actor, on: connection)
  }

  /// Records that the contact exists; `owner` and `archived` change only when given
  /// (`ownerIfNew`: the owner of a contact not known before).
  private func remember(
    contact id: String, owner: String?, ownerIfNew: String? = nil, archived: Bool?, on connection: PostgresConnection
  ) async throws {
    let contactID = try DealInput.id(id, "contact_id")
    let initialOwner = owner ?? ownerIfNew ?? ""
    _ = try await connection.query(
      """
      INSERT INTO known_contacts (id, owner_id, archived) VALUES (\(contactID), \(initialOwner), \(archived ?? false))
      ON CONFLICT (id) DO UPDATE SET owner_id = coalesce(\(owner), known_contacts.owner_id),
        archived = coalesce(\(archived), known_contacts.archived)
      """,
      logger: repository.logger
    ).collect()
  }

  private func remember(company id: String, on connection: PostgresConnection) async throws {
    let companyID = try DealInput.id(id, "company_id")
    _ = try await connection.query(
      "INSERT INTO known_companies (id) VALUES (\(companyID)) ON CONFLICT DO NOTHING", logger: repository.logger
    ).collect()
  }
}
