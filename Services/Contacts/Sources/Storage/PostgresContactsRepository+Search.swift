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
    let rows = try await client.query(
      """
      SELECT c.id, c.card, c.archived, c.created_at, c.version
      FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
      WHERE i.value = \(value) AND (\(includeArchived) OR NOT c.archived)
      ORDER BY c.created_at, c.id OFFSET \(offset) LIMIT \(limit)
      """,
      logger: logger
    )
    var hits: [SearchHit] = []
    for try await (id, card, archived, createdAt, version) in rows.decode((UUID, ByteBuffer, Bool, Date, Int64).self) {
      let contact = try contact(id: id, card: card, archived: archived, createdAt: createdAt, version: version)
      hits.append(SearchHit(contact: contact, score: 1, matchedOn: matchedOn))
    }
    return hits
  }

  /// Ranked in tiers, each read only when the ones before did not fill the page (the query's
  /// `UNION ALL … LIMIT` stops early, and each tier reads an index in its own order):
  /// 1. the name starts with the text as a whole word ("smith" → "Smith John"), by name (byte
  ///    order): the index range [text, text + "!") holds the text itself and the text plus a space;
  /// 2. a later word of the name is the text ("John Smith"), by id;
  /// 3. the name starts with the text ("Smithson"), by name;
  /// 4. a later word starts with it, by that word (the identity rows `word:…` in byte order);
  /// 5. similar names (typos: trigram word similarity), most similar first;
  /// 6. people of companies so named.
  private func byNameOrCompany(_ text: String, _ includeArchived: Bool, _ offset: Int, _ limit: Int) async throws
    -> [SearchHit]
  {
    let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
      .replacingOccurrences(of: "_", with: "\\_")
    let prefix = escaped + "%"
    let wholeWordPrefix = escaped + " %"
    let wordPrefix = "% " + escaped + "%"
    let word = "word:" + text
    let wordKeyPrefix = "word:" + prefix
    let wanted = offset + limit
    return try await client.withTransaction(logger: logger) { connection in
      _ = try await connection.query(
        "SELECT set_config('pg_trgm.word_similarity_threshold', \(String(Self.nameSimilarityThreshold)), true)",
        logger: logger
      ).collect()
      let rows = try await connection.query(
        """
        SELECT h.id, c.card, c.archived, c.created_at, c.version, h.score, h.matched_on FROM (
          (SELECT id, 1 AS tier, row_number() OVER (ORDER BY name_search COLLATE "C", id) AS ord, 3::real AS score,
                  'name' AS matched_on
           FROM contacts
           WHERE name_search COLLATE "C" >= \(text) AND name_search COLLATE "C" < \(text + "!")
             AND (\(includeArchived) OR NOT archived)
           ORDER BY name_search COLLATE "C", id LIMIT \(wanted))
          UNION ALL
          (SELECT c.id, 2, row_number() OVER (ORDER BY i.contact_id), 2.5::real, 'name'
           FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
           WHERE i.value = \(word) AND c.name_search <> \(text) AND c.name_search NOT LIKE \(wholeWordPrefix)
             AND (\(includeArchived) OR NOT c.archived)
           ORDER BY i.contact_id LIMIT \(wanted))
          UNION ALL
          (SELECT id, 3, row_number() OVER (ORDER BY name_search COLLATE "C", id), 2::real, 'name'
           FROM contacts
           WHERE name_search COLLATE "C" LIKE \(prefix) AND name_search <> \(text)
             AND name_search NOT LIKE \(wholeWordPrefix)
             AND NOT EXISTS (SELECT 1 FROM contact_identities w WHERE w.value = \(word) AND w.contact_id = id)
             AND (\(includeArchived) OR NOT archived)
           ORDER BY name_search COLLATE "C", id LIMIT \(wanted))
          UNION ALL
          (SELECT c.id, 4, row_number() OVER (ORDER BY i.value COLLATE "C", i.contact_id), 1.5::real, 'name'
           FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
           WHERE i.value COLLATE "C" LIKE \(wordKeyPrefix) AND i.value <> \(word) AND c.name_search NOT LIKE \(prefix)
             AND (\(includeArchived) OR NOT c.archived)
           ORDER BY i.value COLLATE "C", i.contact_id LIMIT \(wanted))
          UNION ALL
          (SELECT id, 5, row_number() OVER (ORDER BY public.word_similarity(\(text), name_search) DESC, id),
                  public.word_similarity(\(text), name_search)::real, 'name'
           FROM contacts
           WHERE \(text) OPERATOR(public.<%) name_search
             AND name_search NOT LIKE \(prefix) AND name_search NOT LIKE \(wordPrefix)
             AND (\(includeArchived) OR NOT archived)
           ORDER BY 3 LIMIT \(wanted))
          UNION ALL
          (SELECT p.id, 6, row_number() OVER (ORDER BY public.word_similarity(\(text), co.name_search) DESC, p.id),
                  (public.word_similarity(\(text), co.name_search) * 0.9)::real, 'company'
           FROM companies co JOIN contact_companies l ON l.company_id = co.id JOIN contacts p ON p.id = l.contact_id
           WHERE (\(text) OPERATOR(public.<%) co.name_search OR co.name_search LIKE \(prefix))
             AND NOT (\(text) OPERATOR(public.<%) p.name_search OR p.name_search LIKE \(prefix)
                      OR p.name_search LIKE \(wordPrefix))
             AND (\(includeArchived) OR NOT p.archived)
           ORDER BY 3 LIMIT \(wanted))
          LIMIT \(wanted)
        ) h JOIN contacts c ON c.id = h.id
        ORDER BY h.tier, h.ord
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
      return Array(hits.dropFirst(offset).prefix(limit))
    }
  }
}
