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
      let rows = try await client.query(
        """
        SELECT c.id, c.card, c.archived, c.created_at, c.version
        FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
        WHERE i.value = \("phone:" + number) AND (\(includeArchived) OR NOT c.archived)
        ORDER BY c.created_at, c.id OFFSET \(offset) LIMIT \(limit)
        """,
        logger: logger
      )
      return try await exactHits(rows, matchedOn: "phone")
    case .email(let address):
      let rows = try await client.query(
        """
        SELECT c.id, c.card, c.archived, c.created_at, c.version
        FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
        WHERE i.value = \("email:" + address) AND (\(includeArchived) OR NOT c.archived)
        ORDER BY c.created_at, c.id OFFSET \(offset) LIMIT \(limit)
        """,
        logger: logger
      )
      return try await exactHits(rows, matchedOn: "email")
    case .text(let text):
      return try await byNameOrCompany(text, includeArchived, offset, limit)
    }
  }

  private func exactHits(_ rows: PostgresRowSequence, matchedOn: String) async throws -> [SearchHit] {
    var hits: [SearchHit] = []
    for try await (id, card, archived, createdAt, version) in rows.decode((UUID, ByteBuffer, Bool, Date, Int64).self) {
      let contact = try contact(id: id, card: card, archived: archived, createdAt: createdAt, version: version)
      hits.append(SearchHit(contact: contact, score: 1, matchedOn: matchedOn))
    }
    return hits
  }

  /// Ranked in tiers, each read only when the ones before did not fill the page (the query's
  /// `UNION ALL … LIMIT` stops early): names with a word equal to the text (exact lookups), then
  /// the whole name or names starting with the text (in
  /// name order, straight from the prefix index), then names with a word starting with it, then
  /// similar names (typos, by trigram word similarity), then contacts of companies so named.
  private func byNameOrCompany(_ text: String, _ includeArchived: Bool, _ offset: Int, _ limit: Int) async throws
    -> [SearchHit]
  {
    let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
      .replacingOccurrences(of: "_", with: "\\_")
    let prefix = escaped + "%"
    let wordPrefix = "% " + escaped + "%"
    let wanted = offset + limit
    let word = "word:" + text
    return try await client.withTransaction(logger: logger) { connection in
      _ = try await connection.query(
        "SELECT set_config('pg_trgm.word_similarity_threshold', \(String(Self.nameSimilarityThreshold)), true)",
        logger: logger
      ).collect()
      let rows = try await connection.query(
        """
        SELECT h.id, c.card, c.archived, c.created_at, c.version, h.score, h.matched_on FROM (
          (SELECT c.id, (CASE WHEN c.name_search LIKE \(prefix) THEN 2.75 ELSE 2.5 END)::real AS score,
                  'name' AS matched_on, c.name_search
           FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
           WHERE i.value = \(word) AND (\(includeArchived) OR NOT c.archived)
           ORDER BY 2 DESC, c.name_search, c.id LIMIT \(wanted))
          UNION ALL
          (SELECT id, (CASE WHEN name_search = \(text) THEN 3 ELSE 2 END)::real, 'name', name_search
           FROM contacts WHERE name_search LIKE \(prefix) AND (\(includeArchived) OR NOT archived)
             AND NOT EXISTS (SELECT 1 FROM contact_identities w WHERE w.value = \(word) AND w.contact_id = id)
           ORDER BY name_search = \(text) DESC, name_search, id LIMIT \(wanted))
          UNION ALL
          (SELECT id, 1.5::real, 'name', name_search FROM contacts
           WHERE name_search LIKE \(wordPrefix) AND name_search NOT LIKE \(prefix)
             AND NOT EXISTS (SELECT 1 FROM contact_identities w WHERE w.value = \(word) AND w.contact_id = id)
             AND (\(includeArchived) OR NOT archived)
           ORDER BY name_search, id LIMIT \(wanted))
          UNION ALL
          (SELECT id, public.word_similarity(\(text), name_search)::real, 'name', name_search FROM contacts
           WHERE \(text) OPERATOR(public.<%) name_search
             AND name_search NOT LIKE \(prefix) AND name_search NOT LIKE \(wordPrefix)
             AND (\(includeArchived) OR NOT archived)
           ORDER BY 2 DESC, name_search, id LIMIT \(wanted))
          UNION ALL
          (SELECT p.id, (public.word_similarity(\(text), co.name_search) * 0.9)::real, 'company', p.name_search
           FROM companies co JOIN contact_companies l ON l.company_id = co.id JOIN contacts p ON p.id = l.contact_id
           WHERE (\(text) OPERATOR(public.<%) co.name_search OR co.name_search LIKE \(prefix))
             AND NOT (\(text) OPERATOR(public.<%) p.name_search OR p.name_search LIKE \(prefix)
                      OR p.name_search LIKE \(wordPrefix))
           ORDER BY 2 DESC, p.name_search, p.id LIMIT \(wanted))
          LIMIT \(wanted)
        ) h JOIN contacts c ON c.id = h.id
        WHERE \(includeArchived) OR NOT c.archived
        """,
        logger: logger
      )
      var hits: [SearchHit] = []
      var seen = Set<UUID>()
      for try await (id, card, archived, createdAt, version, score, matchedOn) in rows.decode(
        (UUID, ByteBuffer, Bool, Date, Int64, Float, String).self
      ) where seen.insert(id).inserted {
        hits.append(
          SearchHit(
            contact: try contact(id: id, card: card, archived: archived, createdAt: createdAt, version: version),
            score: score, matchedOn: matchedOn))
      }
      // The join does not keep the tiers' order: restore it (score, then name), then the page.
      // Same order as the query's tiers: score, then the searchable name, then id.
      let key = { (hit: SearchHit) in (SearchQuery.searchable(hit.contact.name), hit.contact.id) }
      hits.sort { a, b in a.score != b.score ? a.score > b.score : key(a) < key(b) }
      return Array(hits.dropFirst(offset).prefix(limit))
    }
  }
}
