import CRMDatabase

/// The activity database: the attribute catalogue, activities with their context, and the
/// directory of contacts and deals learnt from the contacts and deals services' events.
enum ActivitySchema {
  static let migrations = [
    Migration(
      version: 1,
      name: "attribute catalogue, activities and the directory",
      statements: [
        """
        CREATE TABLE known_contacts (
          id uuid PRIMARY KEY,
          owner_id text NOT NULL DEFAULT '',
          archived boolean NOT NULL DEFAULT false
        )
        """,
        // A deal's contact and owner never change; its status and version follow its events.
        """
        CREATE TABLE known_deals (
          id uuid PRIMARY KEY,
          contact_id uuid NOT NULL,
          owner_id text NOT NULL,
          status text NOT NULL,
          version bigint NOT NULL
        )
        """,
        """
        CREATE TABLE attributes (
          key text PRIMARY KEY,
          seq bigserial UNIQUE,
          label text NOT NULL,
          type text NOT NULL CHECK (type IN ('text', 'number', 'time', 'choice')),
          choices text[] NOT NULL,
          retired boolean NOT NULL DEFAULT false,
          version bigint NOT NULL DEFAULT 1
        )
        """,
        // Context: {"key": {"type": …, "value": …}} as checked against the catalogue.
        """
        CREATE TABLE activities (
          id uuid PRIMARY KEY,
          seq bigserial UNIQUE,
          kind text NOT NULL CHECK (kind IN ('meeting', 'call', 'email', 'message', 'request', 'order', 'wish',
                                             'reminder', 'note')),
          contact_id uuid,
          deal_id uuid,
          author text NOT NULL,
          author_id text NOT NULL,
          text text NOT NULL,
          context jsonb NOT NULL,
          occurred_at timestamptz NOT NULL,
          recorded_at timestamptz NOT NULL DEFAULT now(),
          CHECK (contact_id IS NOT NULL OR deal_id IS NOT NULL)
        )
        """,
        // Timelines: newest first by when it happened, the insertion order breaking ties.
        "CREATE INDEX activities_of_contact ON activities (contact_id, occurred_at DESC, seq DESC)",
        "CREATE INDEX activities_of_deal ON activities (deal_id, occurred_at DESC, seq DESC)",
        "CREATE INDEX activities_of_author ON activities (author_id, occurred_at DESC, seq DESC)",
      ]
    )
  ]
}
