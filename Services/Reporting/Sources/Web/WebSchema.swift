import CRMDatabase

/// The web edge's tables in the reporting database (versions 20–29 are the web edge's; the
/// reporting core's own run below them): people who sign in, their sessions, and the failed
/// sign-ins that slow the next ones. Sessions and failures live in PostgreSQL so that every
/// replica of the service shares them.
public enum WebSchema {
  public static let migrations = [
    Migration(
      version: 20,
      name: "web users, sessions and failed sign-ins",
      statements: [
        // The wall (DESIGN §6): a person is on the sales side or on quality-control's, never both.
        """
        CREATE TABLE web_users (
          login text PRIMARY KEY CHECK (login ~ '^[a-z0-9._-]{1,64}$'),
          display_name text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
          roles text[] NOT NULL CHECK (
            cardinality(roles) >= 1
            AND (roles <@ ARRAY['manager', 'head_of_sales'] OR roles <@ ARRAY['qc_reviewer', 'qc_head'])),
          manager_id text CHECK (manager_id ~ '^[a-z0-9._-]{1,64}$'),
          password_hash text NOT NULL,
          disabled_at timestamptz,
          created_at timestamptz NOT NULL DEFAULT now(),
          updated_at timestamptz NOT NULL DEFAULT now(),
          CHECK (NOT ('manager' = ANY (roles)) OR manager_id IS NOT NULL)
        )
        """,
        // Only a hash of the session id is stored: a reader of the table cannot sign in as anyone.
        """
        CREATE TABLE web_sessions (
          id_hash text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
          login text NOT NULL REFERENCES web_users (login) ON DELETE CASCADE,
          csrf_token text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX web_sessions_login ON web_sessions (login)",
        "CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at)",
        // One row per login tried and per client address: 'login:<login>', 'address:<ip>'.
        """
        CREATE TABLE web_sign_in_failures (
          key text PRIMARY KEY,
          failures integer NOT NULL CHECK (failures >= 1),
          last_failure_at timestamptz NOT NULL,
          locked_until timestamptz NOT NULL
        )
        """,
      ])
  ]
}
