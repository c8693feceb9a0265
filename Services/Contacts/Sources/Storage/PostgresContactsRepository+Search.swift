import CRMContracts
import Foundation
import PostgresNIO

extension PostgresContactsRepository {
  /// Trigram word similarity from which a name counts as matching: low enough for one typo in
  /// a surname ("Питров" finds "Петров", 0.43), high enough to keep noise out.
  static let nameSimilarityThreshold = 0.3

  func search(_ query: SearchQuery, includeArchived: Bool, offset: Int, limit: Int) async throws -> [SearchHit] {
    switch query {
    case .phone(let number):
      return try await byIdentity("phone:" + number, matchedOn: "phone", includeArchived, offset, limit)
    case .email(let address):
      return try await byIdentity("email:" + address, matchedOn: "email", includeArchived, offset, limit)
    case .text(let text):
      return try await byNameOrCompany(text, includeArchived, offset, limit)
    }
  }

  /// Cards with this identity row (`phone:+7…`, `email:…`), oldest first.
  private func byIdentity(_ value: String, matchedOn: String, _ includeArchived: Bool, _ offset: Int, _ limit: Int)
    async throws -> [SearchHit]
  {
    let rows = try await client.execute(
      CardsWithIdentity(identity: value, includeArchived: includeArchived, offset: offset, limit: limit),
      logger: logger)
    var hits: [SearchHit] = []
    for try await (id, card, archived, createdAt, version) in rows {
      let contact = try contact(id: id, card: card, archived: archived, createdAt: createdAt, version: version)
      hits.append(SearchHit(contact: contact, score: 1, matchedOn: matchedOn))
    }
    return hits
  }

  /// Names and companies matching `text`, ranked in the tiers of `NameSearch`. The typo tiers
  /// run only when the exact ones did not fill the page: they need a transaction (for the
  /// similarity threshold) and cost far more.
  private func byNameOrCompany(_ text: String, _ includeArchived: Bool, _ offset: Int, _ limit: Int) async throws
    -> [SearchHit]
  {
    let search = NameSearch(text: text, includeArchived: includeArchived, wanted: offset + limit)
    var hits: [SearchHit] = []
    var seen = Set<UUID>()
    func add(_ rows: [NameSearch.Row]) throws {
      for (id, card, archived, createdAt, version, score, matchedOn) in rows where seen.insert(id).inserted {
        hits.append(
          SearchHit(
            contact: try contact(id: id, card: card, archived: archived, createdAt: createdAt, version: version),
            score: score, matchedOn: matchedOn))
      }
    }
    var starting: [NameSearch.Row] = []
    for try await row in try await client.execute(NamesStartingWith(search: search), logger: logger) {
      starting.append(row)
    }
    try add(starting)
    if hits.count < search.wanted {
      try add(
        try await client.withTransaction(logger: logger) { connection in
          _ = try await connection.query(
            "SELECT set_config('pg_trgm.word_similarity_threshold', \(String(Self.nameSimilarityThreshold)), true)",
            logger: logger
          ).collect()
          var similar: [NameSearch.Row] = []
          for try await row in try await connection.execute(NamesResembling(search: search), logger: logger) {
            similar.append(row)
          }
          return similar
        })
    }
    return Array(hits.prefix(search.wanted).dropFirst(offset))
  }
}
