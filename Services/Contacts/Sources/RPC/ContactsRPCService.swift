import CRMContracts
import CRMDatabase
import CRMDomain
import CRMIdentity
import CRMRPC
import CRMRuntime
import Foundation
import GRPCCore
import SwiftProtobuf

/// The contacts service's RPCs: checks and normalises input (INVALID_ARGUMENT names the field,
/// nothing is written), then hands it to the repository; maps domain failures to statuses.
struct ContactsRPCService: Crm_Contacts_V1_Contacts.SimpleServiceProtocol {
  let repository: any ContactsRepository
  let pageTokens: PageTokenKey
  /// How deep a search pages: the ranked tiers are read from their start on every page, so a
  /// page costs its position plus its size; past this, narrow the query.
  static let searchDepth = 1_000

  /// A new card's owner: a manager creates only cards he owns (no mass assignment to others).
  /// A request's `occurred_at` (history import) when it has one: checked, operators only.
  func occurredAt(_ has: Bool, _ timestamp: Google_Protobuf_Timestamp) throws -> Date? {
    guard has else { return nil }
    let requested = try HistoryTime.requested(timestamp.date, byOperator: try Principal.verified.holds(.operator))
    try timestamp.requireKnownFields("occurred_at")
    guard (0..<1_000_000_000).contains(timestamp.nanos) else {
      throw InvalidField(field: "occurred_at.nanos", reason: "is \(timestamp.nanos); expected 0 to 999999999")
    }
    return requested
  }

  func creator(owning owner: String) throws -> String {
    let principal = try Principal.verified
    try principal.checkMayChange("new card", ownedBy: owner)
    return principal.description
  }

  // MARK: Leads

  func createLead(request: Crm_Contacts_V1_CreateLeadRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Lead
  {
    try await answering {
      try request.requireKnownFields("request")
      var lead = Crm_Contacts_V1_Lead()
      lead.name = try Text.field(request.name, "name", limit: CardLimits.nameLength, required: true)
      let phone = try Text.field(request.phone, "phone", limit: 64)
      let email = try Text.field(request.email, "email", limit: 254)
      guard !phone.isEmpty || !email.isEmpty else {
        throw InvalidField(field: "phone", reason: "a lead needs a phone or an e-mail; both are empty")
      }
      if !phone.isEmpty {
        lead.phone = try Phones.validate([.with { $0.number = phone }], field: "phone")[0].number
      }
      if !email.isEmpty {
        guard let address = EmailAddress.normalized(email) else {
          throw InvalidField(field: "email", reason: "\(Text.quoted(email)) is not an e-mail address")
        }
        lead.email = address
      }
      lead.source = try Text.field(request.source, "source", limit: CardLimits.nameLength)
      lead.ownerID = try Text.field(request.ownerID, "owner_id", limit: CardLimits.nameLength, required: true)
      lead.businessLine = try Text.field(request.businessLine, "business_line", limit: CardLimits.nameLength)
      return try await repository.createLead(
        lead, at: try occurredAt(request.hasOccurredAt, request.occurredAt), actor: try creator(owning: lead.ownerID))
    }
  }

  func listLeads(request: Crm_Contacts_V1_ListLeadsRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_ListLeadsReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let page = try Page(request.page, scope: "ListLeads", key: pageTokens)
      let filter = LeadFilter(status: request.status, ownerID: request.ownerID, businessLine: request.businessLine)
      let (leads, next) = try await repository.leads(filter, after: page.cursor, limit: page.size)
      return .with {
        $0.leads = leads
        $0.nextPageToken = next.map(page.token) ?? ""
      }
    }
  }

  func rejectLead(request: Crm_Contacts_V1_RejectLeadRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Lead
  {
    try await answering {
      try request.requireKnownFields("request")
      let reason = try Text.field(
        request.reason, "reason", limit: CardLimits.textLength, required: true, multiline: true)
      return try await repository.rejectLead(
        id: request.leadID, reason: reason, expectedVersion: request.expectedVersion,
        at: try occurredAt(request.hasOccurredAt, request.occurredAt), actor: try Principal.verified)
    }
  }

  func convertLead(request: Crm_Contacts_V1_ConvertLeadRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_ConvertLeadReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let company = try Text.field(request.companyName, "company_name", limit: CardLimits.nameLength)
      let pipeline = try Text.field(request.pipelineID, "pipeline_id", limit: CardLimits.nameLength, required: true)
      return try await repository.convertLead(
        id: request.leadID, companyName: company, pipelineID: pipeline, expectedVersion: request.expectedVersion,
        at: try occurredAt(request.hasOccurredAt, request.occurredAt), actor: try Principal.verified)
    }
  }

  // MARK: Contacts

  func createContact(request: Crm_Contacts_V1_CreateContactRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Contact
  {
    try await answering {
      let card = try ContactCardInput.validate(request)
      return try await repository.createContact(
        card, force: request.force, at: try occurredAt(request.hasOccurredAt, request.occurredAt),
        actor: try creator(owning: card.ownerID))
    }
  }

  func getContact(request: Crm_Contacts_V1_GetContactRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Contact
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.contact(id: request.contactID)
    }
  }

  func updateContact(request: Crm_Contacts_V1_UpdateContactRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Contact
  {
    try await answering {
      try request.requireKnownFields("request")
      guard request.hasCard else { throw InvalidField(field: "card", reason: "is missing") }
      guard !request.card.hasOccurredAt else {
        throw InvalidField(field: "card.occurred_at", reason: "is set; only a new card is imported with its time")
      }
      let card = try ContactCardInput.validate(request.card, field: "card.")
      return try await repository.updateContact(
        id: request.contactID, expectedVersion: request.expectedVersion, card: card, actor: try Principal.verified)
    }
  }

  func archiveContact(request: Crm_Contacts_V1_ArchiveContactRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Contact
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.archiveContact(
        id: request.contactID, expectedVersion: request.expectedVersion, actor: try Principal.verified)
    }
  }

  // MARK: Companies

  func createCompany(request: Crm_Contacts_V1_CreateCompanyRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Company
  {
    try await answering {
      let card = try CompanyCardInput.validate(request)
      return try await repository.createCompany(card, actor: try creator(owning: card.ownerID))
    }
  }

  func getCompany(request: Crm_Contacts_V1_GetCompanyRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Company
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.company(id: request.companyID)
    }
  }

  func updateCompany(request: Crm_Contacts_V1_UpdateCompanyRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_Company
  {
    try await answering {
      try request.requireKnownFields("request")
      guard request.hasCard else { throw InvalidField(field: "card", reason: "is missing") }
      let card = try CompanyCardInput.validate(request.card, field: "card.")
      return try await repository.updateCompany(
        id: request.companyID, expectedVersion: request.expectedVersion, card: card, actor: try Principal.verified)
    }
  }

  // MARK: History, search, birthdays

  func getCardHistory(request: Crm_Contacts_V1_GetCardHistoryRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_GetCardHistoryReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let page = try Page(request.page, scope: "GetCardHistory", key: pageTokens)
      let (changes, next) = try await repository.history(cardID: request.cardID, after: page.cursor, limit: page.size)
      return .with {
        $0.changes = changes
        $0.nextPageToken = next.map(page.token) ?? ""
      }
    }
  }

  func searchContacts(request: Crm_Contacts_V1_SearchContactsRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_SearchContactsReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let query = try SearchQuery.parse(request.query)
      let page = try Page(request.page, scope: "SearchContacts", key: pageTokens)
      // The cursor of a search is the position reached: sealed, and never past the depth.
      let offset = Int(page.cursor ?? 0)
      guard offset <= Self.searchDepth else {
        throw InvalidField(field: "page.page_token", reason: "goes past the search depth of \(Self.searchDepth)")
      }
      // One more than the page shows whether another page follows.
      let hits = try await repository.search(
        query, includeArchived: request.includeArchived, offset: offset, limit: page.size + 1)
      return .with {
        $0.hits = hits.prefix(page.size).map { hit in
          .with {
            $0.contact = hit.contact
            $0.score = hit.score
            $0.matchedOn = hit.matchedOn
          }
        }
        let reached = offset + page.size
        $0.nextPageToken = hits.count > page.size && reached <= Self.searchDepth ? page.token(Int64(reached)) : ""
      }
    }
  }

  func listBirthdays(request: Crm_Contacts_V1_ListBirthdaysRequest, context: ServerContext) async throws
    -> Crm_Contacts_V1_ListBirthdaysReply
  {
    try await answering {
      try request.requireKnownFields("request")
      guard request.hasDate else { throw InvalidField(field: "date", reason: "is missing") }
      let date = request.date
      guard date.year >= 1, Birthday.exists(year: date.year, month: date.month, day: date.day) else {
        throw InvalidField(field: "date", reason: "\(date.year)-\(date.month)-\(date.day) is not a date")
      }
      let contacts = try await repository.birthdays(
        month: Int(date.month), day: Int(date.day), alsoLeapDay: Birthday.includesLeapDayBirths(date))
      return .with { $0.contacts = contacts }
    }
  }
}
