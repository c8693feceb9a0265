import CRMContracts
import CRMDomain
import CRMEvents
import Foundation
import Logging
import PostgresNIO
import SwiftProtobuf

/// What the activity service takes from the contacts service's events (DESIGN §2: ids and
/// owners only): which contacts exist, whose they are, and whether they are archived.
struct ContactsEventsHandler: Sendable {
  static let contactsTopic = EventTopics.contacts

  let logger: Logger

  /// The inbox consumer of the contacts events (group and dead letters `activity-contacts`).
  var subscription: InboxSubscription {
    InboxSubscription(name: "activity-contacts", topics: [Self.contactsTopic]) { event, connection in
      try await apply(event, on: connection)
    }
  }

  /// Applies one event; one that does not decode or names no contact goes to the dead letters.
  /// Types the activity service does not use are recorded only.
  func apply(_ event: ReceivedEvent, on connection: PostgresConnection) async throws {
    let envelope = event.envelope
    do {
      switch envelope.type {
      case Crm_Contacts_V1_ContactCreated.protoMessageName:
        let contact = try Crm_Contacts_V1_ContactCreated(serializedBytes: envelope.payload).contact
        try await remember(contact.id, owner: contact.ownerID, archived: contact.archived, on: connection)
        try await rememberMailAddress(of: contact, on: connection)
        try await rememberAddresses(of: contact, on: connection)
        try await rememberNames(of: contact, on: connection)
      case Crm_Contacts_V1_ContactUpdated.protoMessageName:
        let contact = try Crm_Contacts_V1_ContactUpdated(serializedBytes: envelope.payload).contact
        try await remember(contact.id, owner: contact.ownerID, archived: contact.archived, on: connection)
        try await rememberMailAddress(of: contact, on: connection)
        try await rememberAddresses(of: contact, on: connection)
        try await rememberNames(of: contact, on: connection)
      case Crm_Contacts_V1_ContactArchived.protoMessageName:
        let archived = try Crm_Contacts_V1_ContactArchived(serializedBytes: envelope.payload)
        try await remember(archived.contactID, owner: nil, archived: true, on: connection)
      case Crm_Contacts_V1_LeadConverted.protoMessageName:
        let converted = try Crm_Contacts_V1_LeadConverted(serializedBytes: envelope.payload)
        try await ensure(converted.contactID, owner: converted.lead.ownerID, on: connection)
        try await attachCalls(of: converted, on: connection)
        try await rememberNames(of: converted, on: connection)
      case Crm_Contacts_V1_CompanyCreated.protoMessageName:
        let company = try Crm_Contacts_V1_CompanyCreated(serializedBytes: envelope.payload).company
        try await rememberName(company.name, of: company.id, kind: "company", on: connection)
      case Crm_Contacts_V1_CompanyUpdated.protoMessageName:
        let company = try Crm_Contacts_V1_CompanyUpdated(serializedBytes: envelope.payload).company
        try await rememberName(company.name, of: company.id, kind: "company", on: connection)
      default:
        break
      }
    } catch let error as SwiftProtobuf.BinaryDecodingError {
      throw EventRejected("\(envelope.type): the payload does not decode (\(error))")
    } catch let error as InvalidField {
      throw EventRejected("\(envelope.type): \(error)")
    }
  }

  /// Records that a lead's contact exists, owned by the lead's owner only when it was not known
  /// yet. A lead converted into an existing contact keeps that contact's owner in the contacts
  /// service, and `LeadConverted` travels on the lead's partition, not the contact's: a late one
  /// must not undo a `ContactUpdated` owner change. Owners come from the contact's own events.
  private func ensure(_ id: String, owner: String, on connection: PostgresConnection) async throws {
    let contactID = try ActivityInput.id(id, "contact_id")
    _ = try await connection.query(
      """
      INSERT INTO known_contacts (id, owner_id, archived) VALUES (\(contactID), \(owner), false)
      ON CONFLICT (id) DO NOTHING
      """,
      logger: logger
    ).collect()
  }

  /// Records that the contact exists; `owner` and `archived` change only when given.
  private func remember(_ id: String, owner: String?, archived: Bool?, on connection: PostgresConnection) async throws {
    let contactID = try ActivityInput.id(id, "contact_id")
    _ = try await connection.query(
      """
      INSERT INTO known_contacts (id, owner_id, archived) VALUES (\(contactID), \(owner ?? ""), \(archived ?? false))
      ON CONFLICT (id) DO UPDATE SET owner_id = coalesce(\(owner), known_contacts.owner_id),
        archived = coalesce(\(archived), known_contacts.archived)
      """,
      logger: logger
    ).collect()
  }
}
