import CRMContracts
import CRMDomain
import Foundation
import PostgresNIO

/// The names of contacts and companies, for clearing review texts of them (issue 15): every
/// name each has had, and a contact's company. They never leave the service.
extension ContactsEventsHandler {
  /// Longer names are cut: a name is matched word by word, and the first words name the person.
  static let nameLength = 300

  func rememberNames(of contact: Crm_Contacts_V1_Contact, on connection: PostgresConnection) async throws {
    try await rememberName(contact.name, of: contact.id, kind: "contact", on: connection)
    let contactID = try ActivityInput.id(contact.id, "contact_id")
    // A company id that is not one links nothing (the contact itself is still remembered).
    if let first = contact.companies.first, let companyID = UUID(uuidString: first.companyID) {
      try await link(contactID, to: companyID, on: connection)
    } else {
      _ = try await connection.query(
        "DELETE FROM known_contact_companies WHERE contact_id = \(contactID)", logger: logger
      ).collect()
    }
  }

  /// A converted lead's name is its contact's (the contact's own events may come later, or
  /// name it otherwise: both are kept); its company links the contact when none does yet.
  func rememberNames(of converted: Crm_Contacts_V1_LeadConverted, on connection: PostgresConnection) async throws {
    try await rememberName(converted.lead.name, of: converted.contactID, kind: "contact", on: connection)
    guard let companyID = UUID(uuidString: converted.companyID) else { return }
    let contactID = try ActivityInput.id(converted.contactID, "contact_id")
    _ = try await connection.query(
      """
      INSERT INTO known_contact_companies (contact_id, company_id) VALUES (\(contactID), \(companyID))
      ON CONFLICT (contact_id) DO NOTHING
      """,
      logger: logger
    ).collect()
  }

  func rememberName(_ name: String, of id: String, kind: String, on connection: PostgresConnection) async throws {
    let entityID = try ActivityInput.id(id, "\(kind)_id")
    let name = String(name.trimmingCharacters(in: .whitespacesAndNewlines).prefix(Self.nameLength))
    guard !name.isEmpty else { return }
    let added = try await connection.query(
      """
      INSERT INTO known_names (id, kind, name) VALUES (\(entityID), \(kind), \(name))
      ON CONFLICT (id, name) DO NOTHING RETURNING 1
      """,
      logger: logger
    ).collect()
    guard !added.isEmpty else { return }
    _ = try await connection.query(
      "UPDATE known_names_version SET version = version + 1", logger: logger
    ).collect()
  }

  private func link(_ contactID: UUID, to companyID: UUID, on connection: PostgresConnection) async throws {
    _ = try await connection.query(
      """
      INSERT INTO known_contact_companies (contact_id, company_id) VALUES (\(contactID), \(companyID))
      ON CONFLICT (contact_id) DO UPDATE SET company_id = excluded.company_id
      """,
      logger: logger
    ).collect()
  }
}
