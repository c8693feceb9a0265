import CRMContracts
import Foundation
import PostgresNIO

/// The directory's phones and e-mails of contacts, which webhook calls and e-mails are matched
/// by; learning them links the calls and e-mails that were waiting for that contact.
extension ContactsEventsHandler {
  /// The contact's numbers (E.164) and addresses (lower case) as the contacts service keeps them.
  func rememberAddresses(of contact: Crm_Contacts_V1_Contact, on connection: PostgresConnection) async throws {
    let id = try ActivityInput.id(contact.id, "contact_id")
    let addresses = contact.phones.map(\.number) + contact.emails.map { $0.address.lowercased() }
    let links = CommunicationLinks(logger: logger)
    try await links.remember(addresses: addresses.filter { !$0.isEmpty }, of: id, on: connection)
    guard !contact.archived else { return }
    try await links.attach(addresses: addresses, lead: nil, to: id, on: connection)
  }

  /// An unknown caller's lead converted into a contact: his calls become its activities.
  func attachCalls(of converted: Crm_Contacts_V1_LeadConverted, on connection: PostgresConnection) async throws {
    let contact = try ActivityInput.id(converted.contactID, "contact_id")
    let addresses = [converted.lead.phone, converted.lead.email.lowercased()].filter { !$0.isEmpty }
    try await CommunicationLinks(logger: logger).attach(
      addresses: addresses, lead: converted.lead.id.isEmpty ? nil : converted.lead.id, to: contact, on: connection)
  }
}
