import CRMContracts
import CRMDomain
import PostgresNIO

extension ContactsEventsHandler {
  /// The contact's first e-mail address, the one SendEmail writes to when given none; a card
  /// without one forgets it. Kept as the contacts service wrote it (checked when sent to).
  func rememberMailAddress(of contact: Crm_Contacts_V1_Contact, on connection: PostgresConnection) async throws {
    let contactID = try ActivityInput.id(contact.id, "contact_id")
    let address = contact.emails.first.map(\.address).flatMap { $0.isEmpty ? nil : $0 }
    if let address {
      let checked = try Text.field(address, "contact.emails[0].address", limit: 254, required: true)
      _ = try await connection.query(
        """
        INSERT INTO contact_mail_addresses (contact_id, address) VALUES (\(contactID), \(checked))
        ON CONFLICT (contact_id) DO UPDATE SET address = excluded.address
        """,
        logger: logger
      ).collect()
    } else {
      _ = try await connection.query(
        "DELETE FROM contact_mail_addresses WHERE contact_id = \(contactID)", logger: logger
      ).collect()
    }
  }
}
