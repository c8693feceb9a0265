import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO

extension PostgresContactsRepository {
  func createCompany(_ card: Crm_Contacts_V1_Company, actor: String) async throws -> Crm_Contacts_V1_Company {
    try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        let company = try await insertCompany(card, actor: actor, on: connection)
        try await RequestReplies.record(company, key: key, on: connection, logger: logger)
        return company
      }
    }
  }

  /// `at`: an imported history's time of creation (nil: now).
  func insertCompany(
    _ card: Crm_Contacts_V1_Company, actor: String, at requested: Date? = nil, on connection: PostgresConnection
  ) async throws -> Crm_Contacts_V1_Company {
    let id = UUID()
    var stored = card
    stored.id = id.uuidString.lowercased()
    stored.version = 1
    let createdAt = try await connection.query(
      """
      INSERT INTO companies (id, name, name_search, card, created_at)
      VALUES (\(id), \(card.name), \(SearchQuery.searchable(card.name)), \(try bytes(card)), coalesce(\(requested), now()))
      RETURNING created_at
      """,
      logger: logger
    ).decode(Date.self).first { _ in true }
    stored.createdAt = timestamp(createdAt ?? Date())
    try await recordHistory(
      CardChanges.between(nil, CardChanges.fields(card)), cardID: id, actor: actor, at: requested, on: connection)
    try await publish(
      Crm_Contacts_V1_CompanyCreated.with { $0.company = stored }, aggregateID: stored.id, version: 1, actor: actor,
      occurredAt: requested ?? Date(), on: connection)
    return stored
  }

  func company(id: String) async throws -> Crm_Contacts_V1_Company {
    let uuid = try UUID(id, of: "company")
    return try await client.withConnection { connection in
      guard let company = try await loadCompany(uuid, forUpdate: false, on: connection) else {
        throw NotFound(entity: "company", id: id)
      }
      return company
    }
  }

  func loadCompany(_ id: UUID, forUpdate: Bool, on connection: PostgresConnection) async throws
    -> Crm_Contacts_V1_Company?
  {
    let rows = try await connection.query(
      "SELECT card, created_at, version FROM companies WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")",
      logger: logger)
    for try await (card, createdAt, version) in rows.decode((ByteBuffer, Date, Int64).self) {
      var company = try Crm_Contacts_V1_Company(serializedBytes: Array(buffer: card))
      company.id = id.uuidString.lowercased()
      company.createdAt = timestamp(createdAt)
      company.version = version
      return company
    }
    return nil
  }

  func updateCompany(id: String, expectedVersion: Int64, card: Crm_Contacts_V1_Company, actor principal: Principal)
    async throws -> Crm_Contacts_V1_Company
  {
    let actor = principal.description
    let uuid = try UUID(id, of: "company")
    return try await client.withTransaction(logger: logger) { connection in
      guard let current = try await loadCompany(uuid, forUpdate: true, on: connection) else {
        throw NotFound(entity: "company", id: id)
      }
      try principal.checkMayChange("company \(id)", ownedBy: current.ownerID)
      try principal.checkMayChange("company \(id) (as its new owner)", ownedBy: card.ownerID)
      guard current.version == expectedVersion else {
        throw VersionConflict(entity: "company", id: id, expected: expectedVersion, current: current.version)
      }
      let changes = CardChanges.between(CardChanges.fields(current), CardChanges.fields(card))
      guard !changes.isEmpty else { return current }
      var updated = card
      updated.id = current.id
      updated.createdAt = current.createdAt
      updated.version = current.version + 1
      _ = try await connection.query(
        """
        UPDATE companies SET name = \(card.name), name_search = \(SearchQuery.searchable(card.name)),
          card = \(try bytes(card)), version = version + 1
        WHERE id = \(uuid)
        """,
        logger: logger
      ).collect()
      try await recordHistory(changes, cardID: uuid, actor: actor, on: connection)
      try await publish(
        Crm_Contacts_V1_CompanyUpdated.with {
          $0.company = updated
          $0.changes = changes.map { historyEntry($0, cardID: updated.id, actor: actor) }
        }, aggregateID: updated.id, version: updated.version, actor: actor, on: connection)
      return updated
    }
  }
}
