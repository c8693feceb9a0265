import Foundation
import PostgresNIO

/// Name search as two prepared statements. Planned on every call, the one query of six tiers
/// cost 3–4 ms of planning for 1 ms of work; prepared, PostgreSQL keeps a generic plan per
/// connection. Prefixes are byte ranges [text, upper bound) on C-collated indexes, which a
/// generic plan can use (a `LIKE` pattern parameter it cannot).
///
/// The tiers, each read only when the ones before did not fill the page (`UNION ALL … LIMIT`
/// stops early, and each tier reads an index in its own order):
/// 1. the name starts with the text as a whole word ("smith" → "Smith John"), by name (byte
///    order): the range [text, text + "!") holds the text itself and the text plus a space;
/// 2. a later word of the name is the text ("John Smith"), by id;
/// 3. the name starts with the text ("Smithson"), by name;
/// 4. a later word starts with it, by that word (the identity rows `word:…` in byte order);
/// 5. similar names (typos: trigram word similarity), most similar first;
/// 6. people of companies so named.
struct NameSearch {
  var text: String
  var includeArchived: Bool
  var wanted: Int

  /// The least string above every string that starts with `text` in byte order: its last
  /// character's successor (UTF-8 byte order is code point order). Nil when there is none.
  static func upperBound(of text: String) -> String? {
    var scalars = Array(text.unicodeScalars)
    while let last = scalars.popLast() {
      var next = last.value + 1
      if (0xD800...0xDFFF).contains(next) { next = 0xE000 }
      if let successor = Unicode.Scalar(next) {
        scalars.append(successor)
        return String(String.UnicodeScalarView(scalars))
      }
    }
    return nil
  }

  /// `text` as a `LIKE` pattern matching itself literally.
  var likeEscaped: String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
      .replacingOccurrences(of: "_", with: "\\_")
  }

  func bindings() -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 5)
    bindings.append(text)
    // No successor (a text made only of U+10FFFF): the text plus the last character bounds
    // every string that starts with it except those continuing with U+10FFFF itself.
    bindings.append(Self.upperBound(of: text) ?? text + "\u{10FFFF}")
    bindings.append(likeEscaped)
    bindings.append(includeArchived)
    bindings.append(wanted)
    return bindings
  }

  /// A hit: the card's columns, its score and what matched.
  typealias Row = (UUID, ByteBuffer, Bool, Date, Int64, Float, String)

  /// The tiers' `UNION ALL` (each branch: id, tier, order within the tier, score, what matched),
  /// cut at the rows wanted, with the cards of the hits, in tier order.
  static func ranked(_ tiers: String) -> String {
    """
    SELECT h.id, c.card, c.archived, c.created_at, c.version, h.score, h.matched_on FROM (
    \(tiers)
      LIMIT $5
    ) h JOIN contacts c ON c.id = h.id
    ORDER BY h.tier, h.ord
    """
  }
}

/// Tiers 1–4: the name or one of its words is or starts with the text. Parameters: $1 text,
/// $2 its upper bound, $3 text as a LIKE literal, $4 include archived, $5 rows wanted.
struct NamesStartingWith: PostgresPreparedStatement {
  static let sql = NameSearch.ranked(
    """
      (SELECT id, 1 AS tier, row_number() OVER (ORDER BY name_search COLLATE "C", id) AS ord, 3::real AS score,
              'name' AS matched_on
       FROM contacts
       WHERE name_search COLLATE "C" >= $1 AND name_search COLLATE "C" < $1 || '!' AND ($4 OR NOT archived)
       ORDER BY name_search COLLATE "C", id LIMIT $5)
      UNION ALL
      (SELECT c.id, 2, row_number() OVER (ORDER BY i.contact_id), 2.5::real, 'name'
       FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
       WHERE i.value = 'word:' || $1 AND c.name_search <> $1 AND c.name_search NOT LIKE $3 || ' %'
         AND ($4 OR NOT c.archived)
       ORDER BY i.contact_id LIMIT $5)
      UNION ALL
      (SELECT id, 3, row_number() OVER (ORDER BY name_search COLLATE "C", id), 2::real, 'name'
       FROM contacts
       WHERE name_search COLLATE "C" >= $1 AND name_search COLLATE "C" < $2 AND name_search <> $1
         AND name_search NOT LIKE $3 || ' %'
         AND NOT EXISTS (SELECT 1 FROM contact_identities w WHERE w.value = 'word:' || $1 AND w.contact_id = id)
         AND ($4 OR NOT archived)
       ORDER BY name_search COLLATE "C", id LIMIT $5)
      UNION ALL
      (SELECT c.id, 4, row_number() OVER (ORDER BY i.value COLLATE "C", i.contact_id), 1.5::real, 'name'
       FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
       WHERE i.value COLLATE "C" > 'word:' || $1 AND i.value COLLATE "C" < 'word:' || $2
         AND c.name_search NOT LIKE $3 || '%' AND ($4 OR NOT c.archived)
       ORDER BY i.value COLLATE "C", i.contact_id LIMIT $5)
    """)
  typealias Row = NameSearch.Row

  var search: NameSearch

  func makeBindings() throws -> PostgresBindings { search.bindings() }
  func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Tiers 5–6: names and company names like the text, for typos; the threshold of `<%` is the
/// transaction's `pg_trgm.word_similarity_threshold`. Same parameters as `NamesStartingWith`.
struct NamesResembling: PostgresPreparedStatement {
  static let sql = NameSearch.ranked(
    """
      (SELECT id, 5 AS tier, row_number() OVER (ORDER BY public.word_similarity($1, name_search) DESC, id) AS ord,
              public.word_similarity($1, name_search)::real AS score, 'name' AS matched_on
       FROM contacts
       WHERE $1 OPERATOR(public.<%) name_search
         AND name_search NOT LIKE $3 || '%' AND name_search NOT LIKE '% ' || $3 || '%'
         AND ($4 OR NOT archived)
       ORDER BY 3 LIMIT $5)
      UNION ALL
      (SELECT p.id, 6, row_number() OVER (ORDER BY public.word_similarity($1, co.name_search) DESC, p.id),
              (public.word_similarity($1, co.name_search) * 0.9)::real, 'company'
       FROM companies co JOIN contact_companies l ON l.company_id = co.id JOIN contacts p ON p.id = l.contact_id
       WHERE ($1 OPERATOR(public.<%) co.name_search OR co.name_search LIKE $3 || '%')
         AND NOT ($1 OPERATOR(public.<%) p.name_search OR p.name_search LIKE $3 || '%'
                  OR p.name_search LIKE '% ' || $3 || '%')
         AND ($4 OR NOT p.archived)
       ORDER BY 3 LIMIT $5)
    """)
  typealias Row = NameSearch.Row

  var search: NameSearch

  func makeBindings() throws -> PostgresBindings { search.bindings() }
  func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Cards with one identity row (`phone:+7…`, `email:…`), oldest first: search by phone or
/// e-mail. Parameters: $1 the identity, $2 include archived, $3 offset, $4 limit.
struct CardsWithIdentity: PostgresPreparedStatement {
  static let sql = """
    SELECT c.id, c.card, c.archived, c.created_at, c.version
    FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
    WHERE i.value = $1 AND ($2 OR NOT c.archived)
    ORDER BY c.created_at, c.id OFFSET $3 LIMIT $4
    """
  typealias Row = (UUID, ByteBuffer, Bool, Date, Int64)

  var identity: String
  var includeArchived: Bool
  var offset: Int
  var limit: Int

  func makeBindings() throws -> PostgresBindings {
    var bindings = PostgresBindings(capacity: 4)
    bindings.append(identity)
    bindings.append(includeArchived)
    bindings.append(offset)
    bindings.append(limit)
    return bindings
  }

  func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}
