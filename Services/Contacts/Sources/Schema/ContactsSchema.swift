import CRMDatabase

/// The contacts database. A card's full content is kept as its protobuf message (`card`);
/// the columns beside it are what queries filter, search and sort on.
enum ContactsSchema {
  static let migrations = [
    Migration(
      version: 1,
      name: "cards",
      statements: [
        // Trusted extension: the database owner (the service's role) may create it.
        "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public",
        """
        CREATE TABLE leads (
          id uuid PRIMARY KEY,
          seq bigserial UNIQUE,
          name text NOT NULL,
          phone text,
          email text,
          source text NOT NULL,
          owner_id text NOT NULL,
          business_line text NOT NULL,
          status text NOT NULL CHECK (status IN ('open', 'converted', 'rejected')),
          rejection_reason text NOT NULL DEFAULT '',
          contact_id uuid,
          created_at timestamptz NOT NULL DEFAULT now(),
          version bigint NOT NULL DEFAULT 1
        )
        """,
        "CREATE INDEX leads_listing ON leads (status, seq)",
        """
        CREATE TABLE companies (
          id uuid PRIMARY KEY,
          name text NOT NULL,
          name_search text NOT NULL,
          card bytea NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          version bigint NOT NULL DEFAULT 1
        )
        """,
        "CREATE INDEX companies_name_trgm ON companies USING gin (name_search public.gin_trgm_ops)",
        """
        CREATE TABLE contacts (
          id uuid PRIMARY KEY,
          name text NOT NULL,
          -- lower-case, ё as е (SearchQuery.searchable): what search compares.
          name_search text NOT NULL,
          phone_numbers text[] NOT NULL,
          email_addresses text[] NOT NULL,
          birthday date,
          owner_id text NOT NULL,
          archived boolean NOT NULL DEFAULT false,
          card bytea NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          version bigint NOT NULL DEFAULT 1
        )
        """,
        "CREATE INDEX contacts_name_trgm ON contacts USING gin (name_search public.gin_trgm_ops)",
        "CREATE INDEX contacts_phones ON contacts USING gin (phone_numbers)",
        "CREATE INDEX contacts_emails ON contacts USING gin (email_addresses)",
        """
        CREATE INDEX contacts_birthdays ON contacts
          ((extract(month FROM birthday)::int), (extract(day FROM birthday)::int)) WHERE NOT archived
        """,
        """
        CREATE TABLE contact_companies (
          contact_id uuid NOT NULL REFERENCES contacts (id),
          company_id uuid NOT NULL REFERENCES companies (id),
          role text NOT NULL,
          PRIMARY KEY (contact_id, company_id)
        )
        """,
        "CREATE INDEX contact_companies_company ON contact_companies (company_id)",
        """
        CREATE TABLE card_history (
          seq bigserial PRIMARY KEY,
          card_id uuid NOT NULL,
          actor text NOT NULL,
          changed_at timestamptz NOT NULL DEFAULT now(),
          field text NOT NULL,
          old_value text NOT NULL,
          new_value text NOT NULL
        )
        """,
        "CREATE INDEX card_history_card ON card_history (card_id, seq)",
      ]
    ),
    Migration(
      version: 2,
      name: "identities and name prefixes",
      statements: [
        // Phones, e-mails and the words of the name as rows ("phone:+7…", "email:…", "word:петров"):
        // exact lookups for duplicates and search that the planner estimates well (array-overlap
        // filters fell back to scans).
        """
        CREATE TABLE contact_identities (
          value text NOT NULL,
          contact_id uuid NOT NULL REFERENCES contacts (id),
          PRIMARY KEY (value, contact_id)
        )
        """,
        """
        INSERT INTO contact_identities (value, contact_id)
        SELECT DISTINCT 'phone:' || p, id FROM contacts, unnest(phone_numbers) AS p
        UNION SELECT DISTINCT 'email:' || e, id FROM contacts, unnest(email_addresses) AS e
        UNION SELECT DISTINCT 'word:' || w, id FROM contacts, regexp_split_to_table(name_search, '[^[:alnum:]]+') AS w
              WHERE w <> ''
        """,
        "DROP INDEX contacts_phones",
        "DROP INDEX contacts_emails",
        // Names starting with the typed text, in name order, straight from the index.
        "CREATE INDEX contacts_name_prefix ON contacts (name_search text_pattern_ops, id)",
      ]
    ),
    Migration(
      version: 3,
      name: "prefixes in byte order",
      statements: [
        // Names, and later words of names, starting with the typed text, straight from an index
        // in its order: the C collation (whatever the database's) gives both the prefix range
        // and the order, so a page is read without sorting every match.
        "CREATE INDEX contacts_name_c ON contacts ((name_search COLLATE \"C\"), id)",
        "DROP INDEX contacts_name_prefix",
        "CREATE INDEX contact_identities_prefix ON contact_identities ((value COLLATE \"C\"), contact_id)",
      ]
    ),
    Migration(
      version: 4,
      name: "identity claims",
      statements: [
        // Which active card holds each phone and e-mail: the oldest one with it. The primary key
        // is the duplicate check, so a create needs no lock and no transaction of its own: of two
        // creates of one phone at once, the second waits on the key, then fails on it. A forced
        // duplicate claims nothing it shares; an archived card hands its claims on.
        """
        CREATE TABLE contact_claims (
          value text PRIMARY KEY,
          contact_id uuid NOT NULL REFERENCES contacts (id)
        )
        """,
        "CREATE INDEX contact_claims_contact ON contact_claims (contact_id)",
        """
        INSERT INTO contact_claims (value, contact_id)
        SELECT DISTINCT ON (i.value) i.value, i.contact_id
        FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
        WHERE (i.value LIKE 'phone:%' OR i.value LIKE 'email:%') AND NOT c.archived
        ORDER BY i.value, c.created_at, c.id
        """,
      ]
    ),
    Migration(
      version: 5,
      name: "one index per identity and history row",
      statements: [
        // Every create writes about five identity rows and five history rows; each index entry
        // is WAL and CPU on the busiest write. Identities in byte order serve both the exact
        // lookups and the prefix ranges from their primary key; history is read by card, so
        // (card, seq) is its key.
        "DROP INDEX contact_identities_prefix",
        "ALTER TABLE contact_identities ALTER COLUMN value TYPE text COLLATE \"C\"",
        "ALTER TABLE card_history DROP CONSTRAINT card_history_pkey",
        "DROP INDEX card_history_card",
        "ALTER TABLE card_history ADD PRIMARY KEY (card_id, seq)",
      ]
    ),
    // History import (issue 16): when a lead was converted or rejected, for the lead funnel.
    Migration(
      version: 6,
      name: "when a lead was closed",
      statements: ["ALTER TABLE leads ADD COLUMN closed_at timestamptz"]
    ),
  ]
}
