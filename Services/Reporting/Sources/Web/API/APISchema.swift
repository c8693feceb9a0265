import CRMDatabase

/// The JSON API's table in the reporting database (version 25, among the web edge's 20–29):
/// bearer tokens, a session of their own kind. Only a token's SHA-256 is kept, as for sessions.
/// A token dies with its user (deleted), when he is disabled or changed (`updated_at` after the
/// token was made: new roles or a new password are not carried over), when it expires, or when
/// it is revoked.
enum APISchema {
  static let migrations = [
    Migration(
      version: 25,
      name: "web API bearer tokens",
      statements: [
        """
        CREATE TABLE web_api_tokens (
          id_hash text PRIMARY KEY CHECK (id_hash ~ '^[0-9a-f]{64}$'),
          login text NOT NULL REFERENCES web_users (login) ON DELETE CASCADE,
          created_at timestamptz NOT NULL DEFAULT now(),
          expires_at timestamptz NOT NULL
        )
        """,
        "CREATE INDEX web_api_tokens_login ON web_api_tokens (login)",
        "CREATE INDEX web_api_tokens_expires_at ON web_api_tokens (expires_at)",
      ])
  ]
}
