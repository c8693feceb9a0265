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
        SELECT id, card, archived, created_at, version FROM contacts
        WHERE phone_numbers @> ARRAY[\(number)] AND (\(includeArchived) OR NOT archived)
        ORDER BY created_at, id OFFSET \(offset) LIMIT \(limit)
        """,
        logger: logger
      )
      return try await exactHits(rows, matchedOn: "phone")
    case .email(let address):
      let rows = try await client.query(
        """
        SELECT id, card, archived, created_at, version FROM contacts
        WHERE email_addresses @> ARRAY[\(address)] AND (\(includeArchived) OR NOT archived)
        ORDER BY created_at, id OFFSET \(offset) LIMIT \(limit)
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

  /// Ranked: the whole name, then a name starting with the text, then a word of the name
  /// starting with it, then anywhere; within each, whole-word similarity (`strict_word_similarity`:
  /// "smith" ranks "John Smith" above "Smithson"); names before company names.
  private func byNameOrCompany(_ text: String, _ includeArchived: Bool, _ offset: Int, _ limit: Int) async throws
    -> [SearchHit]
  {
    let pattern =
      "%"
      + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
      .replacingOccurrences(of: "_", with: "\\_") + "%"
    return try await client.withTransaction(logger: logger) { connection in
      _ = try await connection.query(
        "SELECT set_config('pg_trgm.word_similarity_threshold', \(String(Self.nameSimilarityThreshold)), true)",
        logger: logger
      ).collect()
      let rows = try await connection.query(
        """
        WITH matches AS (
          SELECT c.id, 'name' AS matched_on,
                 (CASE WHEN c.name_search = \(text) THEN 3
                       WHEN c.name_search LIKE \(text) || '%' THEN 2
                       WHEN c.name_search LIKE '% ' || \(text) || '%' THEN 1.5
                       WHEN c.name_search LIKE \(pattern) THEN 1 ELSE 0 END
                  + public.strict_word_similarity(\(text), c.name_search))::real AS score
          FROM contacts c
          WHERE (\(text) OPERATOR(public.<%) c.name_search OR c.name_search LIKE \(pattern))
            AND (\(includeArchived) OR NOT c.archived)
          UNION ALL
          SELECT l.contact_id, 'company',
                 (public.word_similarity(\(text), co.name_search) * 0.9)::real
          FROM companies co JOIN contact_companies l ON l.company_id = co.id
          WHERE \(text) OPERATOR(public.<%) co.name_search OR co.name_search LIKE \(pattern)
        ), best AS (
          SELECT DISTINCT ON (id) id, matched_on, score FROM matches ORDER BY id, score DESC
        )
        SELECT c.id, c.card, c.archived, c.created_at, c.version, b.score, b.matched_on
        FROM best b JOIN contacts c ON c.id = b.id
        WHERE \(includeArchived) OR NOT c.archived
        ORDER BY b.score DESC, c.name, c.id
        OFFSET \(offset) LIMIT \(limit)
        """,
        logger: logger
      )
      var hits: [SearchHit] = []
      for try await (id, card, archived, createdAt, version, score, matchedOn) in rows.decode(
        (UUID, ByteBuffer, Bool, Date, Int64, Float, String).self
      ) {
        hits.append(
          SearchHit(
            contact: try contact(id: id, card: card, archived: archived, createdAt: createdAt, version: version),
            score: score, matchedOn: matchedOn))
      }
      return hits
    }
  }
}
