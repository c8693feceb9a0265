import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO

extension PostgresContactsRepository {
  /// What `decodeLeads` reads, in its order.
  static let leadColumns =
    """
    id, name, phone, email, source, owner_id, business_line, status, rejection_reason, contact_id, created_at, \
    closed_at, version, seq
    """

  func createLead(_ lead: Crm_Contacts_V1_Lead, at requested: Date?, actor: String) async throws
    -> Crm_Contacts_V1_Lead
  {
    let id = UUID()
    let createdAt = requested ?? Date()
    return try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        let rows = try await connection.query(
          """
          INSERT INTO leads (id, name, phone, email, source, owner_id, business_line, status, created_at)
          VALUES (\(id), \(lead.name), \(lead.phone.isEmpty ? nil : lead.phone), \(lead.email.isEmpty ? nil : lead.email),
                  \(lead.source), \(lead.ownerID), \(lead.businessLine), 'open', \(createdAt))
          RETURNING \(unescaped: Self.leadColumns)
          """,
          logger: logger
        )
        let created = try await decodeLeads(rows)[0].lead
        try await publish(
          Crm_Contacts_V1_LeadCreated.with { $0.lead = created }, aggregateID: created.id, version: created.version,
          actor: actor, occurredAt: createdAt, on: connection)
        try await RequestReplies.record(created, key: key, on: connection, logger: logger)
        return created
      }
    }
  }

  func decodeLeads(_ rows: PostgresRowSequence) async throws -> [(lead: Crm_Contacts_V1_Lead, seq: Int64)] {
    var leads: [(Crm_Contacts_V1_Lead, Int64)] = []
    for try await row in rows {
      let (id, name, phone, email, source, owner, line, status, reason, contactID, createdAt, closedAt, version, seq) =
        try row.decode(
          (UUID, String, String?, String?, String, String, String, String, String, UUID?, Date, Date?, Int64, Int64)
            .self)
      var lead = Crm_Contacts_V1_Lead()
      lead.id = id.uuidString.lowercased()
      lead.name = name
      lead.phone = phone ?? ""
      lead.email = email ?? ""
      lead.source = source
      lead.ownerID = owner
      lead.businessLine = line
      lead.status = LeadStatusText.status(status)
      lead.rejectionReason = reason
      lead.contactID = contactID?.uuidString.lowercased() ?? ""
      lead.createdAt = timestamp(createdAt)
      if let closedAt { lead.closedAt = timestamp(closedAt) }
      lead.version = version
      leads.append((lead, seq))
    }
    return leads
  }

  func leads(_ filter: LeadFilter, after cursor: Int64?, limit: Int) async throws -> (
    [Crm_Contacts_V1_Lead], next: Int64?
  ) {
    let status = filter.status == .unspecified ? nil : LeadStatusText.text(filter.status)
    let rows = try await client.query(
      """
      SELECT \(unescaped: Self.leadColumns)
      FROM leads
      WHERE seq > \(cursor ?? 0)
        AND (\(status)::text IS NULL OR status = \(status))
        AND (\(filter.ownerID) = '' OR owner_id = \(filter.ownerID))
        AND (\(filter.businessLine) = '' OR business_line = \(filter.businessLine))
      ORDER BY seq LIMIT \(limit + 1)
      """,
      logger: logger
    )
    let found = try await decodeLeads(rows)
    guard found.count > limit else { return (found.map(\.lead), nil) }
    return (found.prefix(limit).map(\.lead), found[limit - 1].seq)
  }

  /// The lead locked for a change at `expectedVersion`, still open, and when the change happens:
  /// the requested time of a history import (not before the lead was created), else now.
  func openLeadForChange(
    _ id: String, expectedVersion: Int64, by principal: Principal, at requested: Date?,
    on connection: PostgresConnection
  ) async throws -> (lead: Crm_Contacts_V1_Lead, at: Date) {
    let uuid = try UUID(id, of: "lead")
    let rows = try await connection.query(
      """
      SELECT \(unescaped: Self.leadColumns)
      FROM leads WHERE id = \(uuid) FOR UPDATE
      """,
      logger: logger
    )
    guard let lead = try await decodeLeads(rows).first?.lead else { throw NotFound(entity: "lead", id: id) }
    try principal.checkMayChange("lead \(id)", ownedBy: lead.ownerID)
    guard lead.version == expectedVersion else {
      throw VersionConflict(entity: "lead", id: id, expected: expectedVersion, current: lead.version)
    }
    switch lead.status {
    case .converted: throw RuleBroken(description: "lead \(id) is already converted (contact \(lead.contactID))")
    case .rejected: throw RuleBroken(description: "lead \(id) was rejected: \(lead.rejectionReason)")
    default: break
    }
    return (lead, try HistoryTime.inOrder(requested, after: lead.createdAt.date, of: "lead \(id)") ?? Date())
  }

  func rejectLead(id: String, reason: String, expectedVersion: Int64, at requested: Date?, actor principal: Principal)
    async throws -> Crm_Contacts_V1_Lead
  {
    let actor = principal.description
    return try await client.withTransaction(logger: logger) { connection in
      var (lead, rejectedAt) = try await openLeadForChange(
        id, expectedVersion: expectedVersion, by: principal, at: requested, on: connection)
      _ = try await connection.query(
        """
        UPDATE leads SET status = 'rejected', rejection_reason = \(reason), closed_at = \(rejectedAt),
          version = version + 1
        WHERE id = \(try UUID(id, of: "lead"))
        """,
        logger: logger
      ).collect()
      lead.status = .rejected
      lead.rejectionReason = reason
      lead.closedAt = timestamp(rejectedAt)
      lead.version += 1
      try await recordHistory(
        [CardChange(field: "status", old: "open", new: "rejected: \(reason)")], cardID: try UUID(id, of: "lead"),
        actor: actor, at: rejectedAt, on: connection)
      try await publish(
        Crm_Contacts_V1_LeadRejected.with { $0.lead = lead }, aggregateID: lead.id, version: lead.version, actor: actor,
        occurredAt: rejectedAt, on: connection)
      return lead
    }
  }

  /// The contact of a converted lead: an existing card with the lead's phone or e-mail, else a
  /// new one; the company (when named) is created and linked.
  func convertLead(
    id: String, companyName: String, pipelineID: String, expectedVersion: Int64, at requested: Date?,
    actor principal: Principal
  ) async throws -> Crm_Contacts_V1_ConvertLeadReply {
    let actor = principal.description
    return try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        var (lead, convertedAt) = try await openLeadForChange(
          id, expectedVersion: expectedVersion, by: principal, at: requested, on: connection)
        var reply = Crm_Contacts_V1_ConvertLeadReply()
        var membership: [Crm_Contacts_V1_CompanyMembership] = []
        if !companyName.isEmpty {
          var company = Crm_Contacts_V1_Company()
          company.name = companyName
          company.ownerID = lead.ownerID
          reply.company = try await insertCompany(company, actor: actor, at: convertedAt, on: connection)
          membership = [.with { $0.companyID = reply.company.id }]
        }
        var card = Crm_Contacts_V1_Contact()
        card.name = lead.name
        if !lead.phone.isEmpty { card.phones = [.with { $0.number = lead.phone }] }
        if !lead.email.isEmpty { card.emails = [.with { $0.address = lead.email }] }
        card.ownerID = lead.ownerID
        card.companies = membership
        card.attributes = ["lead_source": lead.source, "business_line": lead.businessLine].filter { !$0.value.isEmpty }
        if let duplicate = try await claimHolder(of: Self.identities(card), on: connection) {
          // The person is already a contact: the lead joins that card, unless it was archived
          // since (then its claim has moved on: the caller tries again).
          guard
            var existing = try await loadContact(
              try UUID(duplicate.existingID, of: "contact"), forUpdate: true, on: connection),
            !existing.archived
          else { throw IdentityClaimed() }
          if !membership.isEmpty {
            let before = CardChanges.fields(existing)
            existing.companies += membership
            existing.version += 1
            var stored = existing
            stored.id = ""
            stored.version = 0
            stored.clearCreatedAt()
            _ = try await connection.query(
              "UPDATE contacts SET card = \(try bytes(stored)), version = version + 1 WHERE id = \(try UUID(existing.id, of: "contact"))",
              logger: logger
            ).collect()
            try await linkCompanies(contactID: try UUID(existing.id, of: "contact"), existing.companies, on: connection)
            let changes = CardChanges.between(before, CardChanges.fields(existing))
            try await recordHistory(
              changes, cardID: try UUID(existing.id, of: "contact"), actor: actor, at: convertedAt, on: connection)
            try await publish(
              Crm_Contacts_V1_ContactUpdated.with {
                $0.contact = existing
                $0.changes = changes.map { historyEntry($0, cardID: existing.id, actor: actor, at: convertedAt) }
              }, aggregateID: existing.id, version: existing.version, actor: actor, occurredAt: convertedAt,
              on: connection)
          }
          reply.contact = existing
        } else {
          reply.contact = try await insertContact(card, force: false, actor: actor, at: convertedAt, on: connection)
        }
        let contactID = try UUID(reply.contact.id, of: "contact")
        _ = try await connection.query(
          """
          UPDATE leads SET status = 'converted', contact_id = \(contactID), closed_at = \(convertedAt), version = version + 1
          WHERE id = \(try UUID(id, of: "lead"))
          """,
          logger: logger
        ).collect()
        lead.status = .converted
        lead.contactID = reply.contact.id
        lead.closedAt = timestamp(convertedAt)
        lead.version += 1
        reply.lead = lead
        try await recordHistory(
          [CardChange(field: "status", old: "open", new: "converted: contact \(reply.contact.id)")],
          cardID: try UUID(id, of: "lead"), actor: actor, at: convertedAt, on: connection)
        try await publish(
          Crm_Contacts_V1_LeadConverted.with {
            $0.lead = lead
            $0.contactID = reply.contact.id
            $0.companyID = reply.company.id
            $0.pipelineID = pipelineID
          }, aggregateID: lead.id, version: lead.version, actor: actor, occurredAt: convertedAt, on: connection)
        try await RequestReplies.record(reply, key: key, on: connection, logger: logger)
        return reply
      }
    }
  }
}

enum LeadStatusText {
  static func text(_ status: Crm_Contacts_V1_LeadStatus) -> String {
    switch status {
    case .converted: "converted"
    case .rejected: "rejected"
    default: "open"
    }
  }

  static func status(_ text: String) -> Crm_Contacts_V1_LeadStatus {
    switch text {
    case "converted": .converted
    case "rejected": .rejected
    default: .open
    }
  }
}
