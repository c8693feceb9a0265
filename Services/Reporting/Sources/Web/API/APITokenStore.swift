import CRMDatabase
import Foundation
import Logging
import PostgresNIO

/// Bearer tokens of the JSON API (`web_api_tokens`). Queries by interpolation (bound parameters).
struct APITokenStore: Sendable {
  let client: PostgresClient
  let logger: Logger

  /// Stores a new token of `login` (its hash) and returns when it expires.
  func create(token: String, login: String, lifetime: Duration) async throws -> Date {
    let seconds = Double(lifetime.components.seconds)
    do {
      return try await client.withTransaction(logger: logger) { connection in
        // Expired tokens go at each new one, as sessions do at each sign-in.
        try await connection.query(
          "DELETE FROM web_api_tokens WHERE expires_at < now() - interval '1 day'", logger: logger)
        let rows = try await connection.query(
          """
          INSERT INTO web_api_tokens (id_hash, login, expires_at)
          VALUES (\(SessionTokens.hash(token)), \(login), now() + make_interval(secs => \(seconds)))
          RETURNING expires_at
          """, logger: logger)
        for try await expires in rows.decode(Date.self) { return expires }
        return Date()
      }
    } catch {
      throw transactionCause(of: error)
    }
  }

  /// The user of a live token: not expired, not revoked, its user enabled and unchanged since.
  func user(token: String) async throws -> WebUser? {
    let rows = try await client.query(
      """
      SELECT u.login, u.display_name, u.roles, u.manager_id
      FROM web_api_tokens t JOIN web_users u ON u.login = t.login
      WHERE t.id_hash = \(SessionTokens.hash(token)) AND t.expires_at > now() AND u.disabled_at IS NULL
        AND t.created_at >= u.updated_at
      """, logger: logger)
    for try await (login, name, roles, managerID) in rows.decode((String, String, [String], String?).self) {
      return try WebStore.user(login, name, roles, managerID)
    }
    return nil
  }

  func revoke(token: String) async throws {
    try await client.query("DELETE FROM web_api_tokens WHERE id_hash = \(SessionTokens.hash(token))", logger: logger)
  }
}
