import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO

extension PostgresContactsRepository {
  func createContact(_ card: Crm_Contacts_V1_Contact, force: Bool, at createdAt: Date?, actor: String) async throws
    -> Crm_Contacts_V1_Contact
  {
    try await idempotent(client: client, logger: logger) { key in
      try await client.withConnection { connection in
        try await requireCompanies(card.companies.map(\.companyID), on: connection)
        // A claim refused names its holder; if that card was archived in between (its claim handed
        // on or freed), the create is simply tried again.
        for _ in 0..<3 {
          do {
            return try await insertContact(
              card, force: force, actor: actor, at: createdAt, requestKey: key, on: connection)
          } catch is IdentityClaimed {
            if let duplicate = try await claimHolder(of: Self.identities(card), on: connection) {
              throw duplicate
            }
          }
        }
        throw IdentityClaimed()
      }
    }
  }

  /// Inserts a contact card with its identity claims, search keys, history, company links and
  /// `ContactCreated`: one statement, so outside a transaction it commits on its own in one
  /// round trip (the create is the service's busiest write). Throws `IdentityClaimed` when an
  /// unforced card repeats a phone or e-mail that an active card holds; nothing is written then.
  func insertContact(
    _ card: Crm_Contacts_V1_Contact, force: Bool, actor: String, at requested: Date? = nil,
    requestKey: String? = nil, on connection: PostgresConnection
  ) async throws -> Crm_Contacts_V1_Contact {
    let id = UUID()
    let createdAt = requested ?? Date()
    var stored = card
    stored.id = id.uuidString.lowercased()
    stored.version = 1
    stored.createdAt = timestamp(createdAt)
    let insert = ContactInsert(
      id: id, card: card, cardBytes: try bytes(card), createdAt: createdAt, identities: Self.identities(card),
      searchKeys: Self.searchKeys(card), companyIDs: try card.companies.map { try UUID($0.companyID, of: "company") },
      actor: actor, changes: CardChanges.between(nil, CardChanges.fields(card)),
      event: try ContactsEvents.event(
        aggregateID: stored.id, version: 1, actor: actor, occurredAt: createdAt,
        Crm_Contacts_V1_ContactCreated.with { $0.contact = stored }),
      requestKey: requestKey, reply: try stored.serializedBytes())
    do {
      let rows =
        force
        ? try await connection.execute(InsertForcedContact(insert: insert), logger: logger)
        : try await connection.execute(InsertContact(insert: insert), logger: logger)
      for try await _ in rows {}
    } catch let error where ConstraintViolation(error) == Self.claimTaken {
      throw IdentityClaimed()
    } catch let error where ConstraintViolation(error)?.kind == .foreignKey {
      // A company removed between the check and the insert.
      try await requireCompanies(card.companies.map(\.companyID), on: connection)
      throw error
    }
    return stored
  }

  static let claimTaken = ConstraintViolation(kind: .unique, constraint: "contact_claims_pkey")

  /// The oldest active card holding one of `identities`, as the duplicate to name.
  func claimHolder(of identities: [String], on connection: PostgresConnection) async throws
    -> DuplicateContact?
  {
    guard !identities.isEmpty else { return nil }
    let rows = try await connection.query(
      """
      SELECT c.id, c.name, cl.value LIKE 'phone:%'
      FROM contact_claims cl JOIN contacts c ON c.id = cl.contact_id
      WHERE cl.value = ANY(\(identities))
      ORDER BY c.created_at, c.id LIMIT 1
      """,
      logger: logger
    )
    for try await (existing, name, byPhone) in rows.decode((UUID, String, Bool).self) {
      return DuplicateContact(
        existingID: existing.uuidString.lowercased(), existingName: name, matchedOn: byPhone ? "phone" : "e-mail")
    }
    return nil
  }

  /// After a card's phones or e-mails changed, or it was archived (`keeping` empty): the claims
  /// it gave up pass to the oldest other active card with that identity, and it claims what it
  /// newly has and nobody holds.
  func settleClaims(contactID: UUID, keeping identities: [String], on connection: PostgresConnection)
    async throws
  {
    let releasedRows = try await connection.query(
      """
      DELETE FROM contact_claims WHERE contact_id = \(contactID) AND NOT (value = ANY(\(identities)))
      RETURNING value
      """,
      logger: logger
    )
    var released: [String] = []
    for try await value in releasedRows.decode(String.self) { released.append(value) }
    _ = try await connection.query(
      """
      INSERT INTO contact_claims (value, contact_id)
      SELECT value, contact_id FROM (
        SELECT DISTINCT ON (i.value) i.value, i.contact_id
        FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
        WHERE i.value = ANY(\(released)) AND i.contact_id <> \(contactID) AND NOT c.archived
        ORDER BY i.value, c.created_at, c.id
      ) heirs
      UNION ALL
      SELECT DISTINCT k, \(contactID) FROM unnest(\(identities)) AS k
      ON CONFLICT DO NOTHING
      """,
      logger: logger
    ).collect()
  }

  /// The card's phones and e-mails as identity rows: `phone:+7…`, `email:…`, sorted.
  static func identities(_ card: Crm_Contacts_V1_Contact) -> [String] {
    (card.phones.map { "phone:" + $0.number } + card.emails.map { "email:" + $0.address }).sorted()
  }

  /// Everything a card is found by exactly: its identities and the words of its name (`word:петров`).
  static func searchKeys(_ card: Crm_Contacts_V1_Contact) -> [String] {
    identities(card) + SearchQuery.words(card.name).map { "word:" + $0 }
  }

  /// Replaces a card's identity rows after its phones, e-mails or name changed.
  func replaceIdentities(contactID: UUID, _ card: Crm_Contacts_V1_Contact, on connection: PostgresConnection)
    async throws
  {
    _ = try await connection.query("DELETE FROM contact_identities WHERE contact_id = \(contactID)", logger: logger)
      .collect()
    _ = try await connection.query(
      """
      INSERT INTO contact_identities (value, contact_id)
      SELECT DISTINCT v, \(contactID) FROM unnest(\(Self.searchKeys(card))) AS v
      """,
      logger: logger
    ).collect()
  }

  func requireCompanies(_ ids: [String], on connection: PostgresConnection) async throws {
    let uuids = try ids.map { try UUID($0, of: "company") }
    guard !uuids.isEmpty else { return }
    var found = Set<UUID>()
    for try await id in try await connection.query(
      "SELECT id FROM companies WHERE id = ANY(\(uuids))", logger: logger
    ).decode(UUID.self) {
      found.insert(id)
    }
    if let missing = uuids.first(where: { !found.contains($0) }) {
      throw NotFound(entity: "company", id: missing.uuidString.lowercased())
    }
  }

  func linkCompanies(
    contactID: UUID, _ memberships: [Crm_Contacts_V1_CompanyMembership], on connection: PostgresConnection
  )
    async throws
  {
    _ = try await connection.query("DELETE FROM contact_companies WHERE contact_id = \(contactID)", logger: logger)
      .collect()
    guard !memberships.isEmpty else { return }
    let companyIDs = try memberships.map { try UUID($0.companyID, of: "company") }
    _ = try await connection.query(
      """
      INSERT INTO contact_companies (contact_id, company_id, role)
      SELECT \(contactID), c, r FROM unnest(\(companyIDs), \(memberships.map(\.role))) AS m(c, r)
      """,
      logger: logger
    ).collect()
  }

  func contact(id: String) async throws -> Crm_Contacts_V1_Contact {
    let uuid = try UUID(id, of: "contact")
    return try await client.withConnection { connection in
      guard let contact = try await loadContact(uuid, forUpdate: false, on: connection) else {
        throw NotFound(entity: "contact", id: id)
      }
      return contact
    }
  }

  func loadContact(_ id: UUID, forUpdate: Bool, on connection: PostgresConnection) async throws
    -> Crm_Contacts_V1_Contact?
  {
    let rows = try await connection.query(
      """
      SELECT card, archived, created_at, version FROM contacts
      WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
      """,
      logger: logger)
    for try await (card, archived, createdAt, version) in rows.decode((ByteBuffer, Bool, Date, Int64).self) {
      return try contact(id: id, card: card, archived: archived, createdAt: createdAt, version: version)
    }
    return nil
  }

  func contact(id: UUID, card: ByteBuffer, archived: Bool, createdAt: Date, version: Int64) throws
    -> Crm_Contacts_V1_Contact
  {
    var contact = try Crm_Contacts_V1_Contact(serializedBytes: Array(buffer: card))
    contact.id = id.uuidString.lowercased()
    contact.archived = archived
    contact.createdAt = timestamp(createdAt)
    contact.version = version
    return contact
  }

  func updateContact(id: String, expectedVersion: Int64, card: Crm_Contacts_V1_Contact, actor principal: Principal)
    async throws -> Crm_Contacts_V1_Contact
  {
    let actor = principal.description
    let uuid = try UUID(id, of: "contact")
    return try await client.withTransaction(logger: logger) { connection in
      guard let current = try await loadContact(uuid, forUpdate: true, on: connection) else {
        throw NotFound(entity: "contact", id: id)
      }
      try principal.checkMayChange("contact \(id)", ownedBy: current.ownerID)
      // Handing a card over is a change of someone else's card too.
      try principal.checkMayChange("contact \(id) (as its new owner)", ownedBy: card.ownerID)
      guard current.version == expectedVersion else {
        throw VersionConflict(entity: "contact", id: id, expected: expectedVersion, current: current.version)
      }
      guard !current.archived else {
        throw RuleBroken(description: "contact \(id) is archived; archived cards do not change")
      }
      try await requireCompanies(card.companies.map(\.companyID), on: connection)
      var updated = card
      updated.id = current.id
      updated.createdAt = current.createdAt
      updated.version = current.version + 1
      let changes = CardChanges.between(CardChanges.fields(current), CardChanges.fields(card))
      guard !changes.isEmpty else { return current }  // nothing changed: no new version, no event
      _ = try await connection.query(
        """
        UPDATE contacts SET name = \(card.name), name_search = \(SearchQuery.searchable(card.name)),
          phone_numbers = \(card.phones.map(\.number)), email_addresses = \(card.emails.map(\.address)),
          birthday = \(card.hasBirthday ? Birthday.text(card.birthday) : nil)::date, owner_id = \(card.ownerID),
          card = \(try bytes(card)), version = version + 1
        WHERE id = \(uuid)
        """,
        logger: logger
      ).collect()
      if changes.contains(where: { $0.field == "companies" }) {
        try await linkCompanies(contactID: uuid, card.companies, on: connection)
      }
      if changes.contains(where: { ["phones", "emails", "name"].contains($0.field) }) {
        try await replaceIdentities(contactID: uuid, card, on: connection)
        try await settleClaims(contactID: uuid, keeping: Self.identities(card), on: connection)
      }
      try await recordHistory(changes, cardID: uuid, actor: actor, on: connection)
      try await publish(
        Crm_Contacts_V1_ContactUpdated.with {
          $0.contact = updated
          $0.changes = changes.map { change in historyEntry(change, cardID: updated.id, actor: actor) }
        }, aggregateID: updated.id, version: updated.version, actor: actor, on: connection)
      return updated
    }
  }

  func historyEntry(_ change: CardChange, cardID: String, actor: String, at: Date? = nil)
    -> Crm_Contacts_V1_CardChange
  {
    var entry = Crm_Contacts_V1_CardChange()
    entry.cardID = cardID
    entry.actor = actor
    entry.changedAt = timestamp(at ?? Date())
    entry.field = change.field
    entry.oldValue = change.old
    entry.newValue = change.new
    return entry
  }

  func archiveContact(id: String, expectedVersion: Int64, actor principal: Principal) async throws
    -> Crm_Contacts_V1_Contact
  {
    let actor = principal.description
    let uuid = try UUID(id, of: "contact")
    return try await client.withTransaction(logger: logger) { connection in
      guard var current = try await loadContact(uuid, forUpdate: true, on: connection) else {
        throw NotFound(entity: "contact", id: id)
      }
      try principal.checkMayChange("contact \(id)", ownedBy: current.ownerID)
      guard current.version == expectedVersion else {
        throw VersionConflict(entity: "contact", id: id, expected: expectedVersion, current: current.version)
      }
      guard !current.archived else { throw RuleBroken(description: "contact \(id) is already archived") }
      _ = try await connection.query(
        "UPDATE contacts SET archived = true, version = version + 1 WHERE id = \(uuid)", logger: logger
      ).collect()
      try await settleClaims(contactID: uuid, keeping: [], on: connection)
      current.archived = true
      current.version += 1
      try await recordHistory(
        [CardChange(field: "archived", old: "", new: "true")], cardID: uuid, actor: actor, on: connection)
      try await publish(
        Crm_Contacts_V1_ContactArchived.with { $0.contactID = current.id }, aggregateID: current.id,
        version: current.version, actor: actor, on: connection)
      return current
    }
  }

  func birthdays(month: Int, day: Int, alsoLeapDay: Bool) async throws -> [Crm_Contacts_V1_Contact] {
    let rows = try await client.query(
      """
      SELECT id, card, archived, created_at, version FROM contacts
      WHERE NOT archived AND birthday IS NOT NULL
        AND ((extract(month FROM birthday)::int = \(month) AND extract(day FROM birthday)::int = \(day))
             OR (\(alsoLeapDay) AND extract(month FROM birthday)::int = 2 AND extract(day FROM birthday)::int = 29))
      ORDER BY name, id LIMIT 10000
      """,
      logger: logger
    )
    var contacts: [Crm_Contacts_V1_Contact] = []
    for try await (id, card, archived, createdAt, version) in rows.decode((UUID, ByteBuffer, Bool, Date, Int64).self) {
      contacts.append(try contact(id: id, card: card, archived: archived, createdAt: createdAt, version: version))
    }
    return contacts
  }
}
