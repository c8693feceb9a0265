import CRMContracts
import CRMDomain
import CRMIdentity
import Foundation

/// A contact whose phone or e-mail the new card repeats: ALREADY_EXISTS unless forced.
struct DuplicateContact: DomainError {
  var existingID: String
  var existingName: String
  var matchedOn: String
  var status: FailureStatus { .alreadyExists }
  var details: [String: String] { ["crm-existing-id": existingID] }
  var description: String {
    "contact \(existingID) (\(existingName)) already has this \(matchedOn); pass force to create another card"
  }
}

/// An unforced card's phone or e-mail is held by another active card (the claim's key refused
/// it). Outside a transaction the create names that card instead; inside one (a lead's
/// conversion) another create won the race, and the caller may try again.
struct IdentityClaimed: DomainError {
  var status: FailureStatus { .aborted }
  var description: String {
    "a contact with this phone or e-mail was created at the same moment; try again"
  }
}

/// Lead filters and a page of them.
struct LeadFilter {
  var status: Crm_Contacts_V1_LeadStatus
  var ownerID: String
  var businessLine: String
}

struct SearchHit {
  var contact: Crm_Contacts_V1_Contact
  var score: Float
  var matchedOn: String
}

/// Where leads, cards and their history are kept. Every mutation writes its events to the
/// outbox in the same transaction; `actor` is who made the change (kept in history and events).
protocol ContactsRepository: Sendable {
  // `at`: a history import's checked time (nil: now); a lead is closed no earlier than created.
  func createLead(_ lead: Crm_Contacts_V1_Lead, at: Date?, actor: String) async throws -> Crm_Contacts_V1_Lead
  func leads(_ filter: LeadFilter, after cursor: Int64?, limit: Int) async throws -> (
    [Crm_Contacts_V1_Lead], next: Int64?
  )
  func rejectLead(id: String, reason: String, expectedVersion: Int64, at: Date?, actor: Principal) async throws
    -> Crm_Contacts_V1_Lead
  func convertLead(
    id: String, companyName: String, pipelineID: String, expectedVersion: Int64, at: Date?, actor: Principal
  ) async throws -> Crm_Contacts_V1_ConvertLeadReply

  func createContact(_ card: Crm_Contacts_V1_Contact, force: Bool, at: Date?, actor: String) async throws
    -> Crm_Contacts_V1_Contact
  func contact(id: String) async throws -> Crm_Contacts_V1_Contact
  func updateContact(id: String, expectedVersion: Int64, card: Crm_Contacts_V1_Contact, actor: Principal) async throws
    -> Crm_Contacts_V1_Contact
  func archiveContact(id: String, expectedVersion: Int64, actor: Principal) async throws -> Crm_Contacts_V1_Contact

  func createCompany(_ card: Crm_Contacts_V1_Company, actor: String) async throws -> Crm_Contacts_V1_Company
  func company(id: String) async throws -> Crm_Contacts_V1_Company
  func updateCompany(id: String, expectedVersion: Int64, card: Crm_Contacts_V1_Company, actor: Principal) async throws
    -> Crm_Contacts_V1_Company

  func history(cardID: String, after cursor: Int64?, limit: Int) async throws -> (
    [Crm_Contacts_V1_CardChange], next: Int64?
  )
  func search(_ query: SearchQuery, includeArchived: Bool, offset: Int, limit: Int) async throws -> [SearchHit]
  func birthdays(month: Int, day: Int, alsoLeapDay: Bool) async throws -> [Crm_Contacts_V1_Contact]
}
