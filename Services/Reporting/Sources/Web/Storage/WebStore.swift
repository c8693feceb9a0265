import CRMDatabase
import CRMDomain
import CRMIdentity
import Foundation
import Logging
import PostgresNIO

/// A signed-in person's session as the edge reads it on every request.
public struct WebSession: Sendable {
  public var user: WebUser
  public var csrfToken: String
}

/// A user as the operator's list shows him.
public struct ListedUser: Sendable, Equatable {
  public var user: WebUser
  public var disabled: Bool
}

/// The web edge's tables (WebSchema): users, sessions, failed sign-ins. Queries by
/// interpolation (bound parameters).
public struct WebStore: Sendable {
  let client: PostgresClient
  let logger: Logger

  public init(client: PostgresClient, logger: Logger) {
    self.client = client
    self.logger = logger
  }

  // MARK: Users (the operator's command)

  /// Creates or changes a user; a new password (required for a new user) ends his sessions.
  /// Returns whether the user is new.
  @discardableResult
  public func put(_ user: WebUser, passwordHash: String?) async throws -> Bool {
    let roles = user.roles.sorted().map(\.rawValue)
    return try await transaction { connection in
      let existing = try await connection.query(
        "SELECT 1 FROM web_users WHERE login = \(user.login) FOR UPDATE", logger: logger
      ).decode(Int.self).first { _ in true }
      if existing == nil {
        guard let passwordHash else {
          throw InvalidField(field: "password", reason: "a new user needs a password")
        }
        try await connection.query(
          """
          INSERT INTO web_users (login, display_name, roles, manager_id, password_hash)
          VALUES (\(user.login), \(user.displayName), \(roles), \(user.managerID), \(passwordHash))
          """, logger: logger)
        return true
      }
      try await connection.query(
        """
        UPDATE web_users SET display_name = \(user.displayName), roles = \(roles), manager_id = \(user.managerID),
          password_hash = coalesce(\(passwordHash), password_hash), disabled_at = NULL, updated_at = now()
        WHERE login = \(user.login)
        """, logger: logger)
      // New roles or a new password: whatever a session allowed before is not carried over.
      try await connection.query("DELETE FROM web_sessions WHERE login = \(user.login)", logger: logger)
      return false
    }
  }

  /// Disables a user and ends his sessions; false when there is no such user.
  public func disable(login: String) async throws -> Bool {
    try await transaction { connection in
      let found = try await connection.query(
        "UPDATE web_users SET disabled_at = now(), updated_at = now() WHERE login = \(login) RETURNING 1",
        logger: logger
      ).decode(Int.self).first { _ in true }
      try await connection.query("DELETE FROM web_sessions WHERE login = \(login)", logger: logger)
      return found != nil
    }
  }

  public func users() async throws -> [ListedUser] {
    var users: [ListedUser] = []
    let rows = try await client.query(
      "SELECT login, display_name, roles, manager_id, disabled_at IS NOT NULL FROM web_users ORDER BY login",
      logger: logger)
    for try await (login, name, roles, managerID, disabled) in rows.decode(
      (String, String, [String], String?, Bool).self)
    {
      users.append(ListedUser(user: try Self.user(login, name, roles, managerID), disabled: disabled))
    }
    return users
  }

  /// An enabled user and his password hash; nil when there is none by that login.
  public func credentials(login: String) async throws -> (user: WebUser, passwordHash: String)? {
    let rows = try await client.query(
      """
      SELECT login, display_name, roles, manager_id, password_hash FROM web_users
      WHERE login = \(login) AND disabled_at IS NULL
      """, logger: logger)
    for try await (login, name, roles, managerID, hash) in rows.decode(
      (String, String, [String], String?, String).self)
    {
      return (try Self.user(login, name, roles, managerID), hash)
    }
    return nil
  }

  // MARK: Sessions

  public func createSession(id: String, login: String, csrfToken: String, lifetime: Duration) async throws {
    let seconds = Int(lifetime.components.seconds)
    try await transaction { connection in
      // Expired sessions go at each sign-in: the table holds live ones and a few stale ones.
      try await connection.query(
        "DELETE FROM web_sessions WHERE expires_at < now() - interval '1 day'", logger: logger)
      try await connection.query(
        """
        INSERT INTO web_sessions (id_hash, login, csrf_token, expires_at)
        VALUES (\(SessionTokens.hash(id)), \(login), \(csrfToken), now() + make_interval(secs => \(Double(seconds))))
        """, logger: logger)
    }
  }

  /// The live session of `id`: not expired, its user not disabled.
  public func session(id: String) async throws -> WebSession? {
    let rows = try await client.query(
      """
      SELECT u.login, u.display_name, u.roles, u.manager_id, s.csrf_token
      FROM web_sessions s JOIN web_users u ON u.login = s.login
      WHERE s.id_hash = \(SessionTokens.hash(id)) AND s.expires_at > now() AND u.disabled_at IS NULL
      """, logger: logger)
    for try await (login, name, roles, managerID, csrf) in rows.decode(
      (String, String, [String], String?, String).self)
    {
      return WebSession(user: try Self.user(login, name, roles, managerID), csrfToken: csrf)
    }
    return nil
  }

  public func endSession(id: String) async throws {
    try await client.query("DELETE FROM web_sessions WHERE id_hash = \(SessionTokens.hash(id))", logger: logger)
  }

  // MARK: Failed sign-ins (SignInThrottle)

  /// Seconds until the longest lock of `keys` ends; 0 when none is locked.
  public func lockRemaining(keys: [String]) async throws -> Int {
    let rows = try await client.query(
      """
      SELECT coalesce(ceil(extract(epoch FROM max(locked_until) - now()))::int, 0)
      FROM web_sign_in_failures WHERE key = ANY(\(keys)) AND locked_until > now()
      """, logger: logger)
    return try await rows.decode(Int.self).first { _ in true } ?? 0
  }

  /// Counts a failure of `key` and locks it as `throttle` says; returns the lock's seconds.
  @discardableResult
  public func recordFailure(key: String, throttle: SignInThrottle) async throws -> Int {
    try await transaction { connection in
      let failures =
        try await connection.query(
          """
          INSERT INTO web_sign_in_failures (key, failures, last_failure_at, locked_until)
          VALUES (\(key), 1, now(), now())
          ON CONFLICT (key) DO UPDATE SET
            failures = CASE WHEN web_sign_in_failures.last_failure_at < now() - interval '1 hour' THEN 1
                            ELSE web_sign_in_failures.failures + 1 END,
            last_failure_at = now()
          RETURNING failures
          """, logger: logger
        ).decode(Int.self).first { _ in true } ?? 1
      let lock = throttle.lockSeconds(afterFailures: failures)
      try await connection.query(
        """
        UPDATE web_sign_in_failures SET locked_until = now() + make_interval(secs => \(Double(lock))) WHERE key = \(key)
        """, logger: logger)
      return lock
    }
  }

  public func clearFailures(key: String) async throws {
    try await client.query("DELETE FROM web_sign_in_failures WHERE key = \(key)", logger: logger)
  }

  /// A transaction whose failure is the body's own error (not PostgresNIO's wrapper).
  private func transaction<T: Sendable>(
    _ body: nonisolated(nonsending) (PostgresConnection) async throws -> sending T
  ) async throws -> T {
    do {
      return try await client.withTransaction(logger: logger, body)
    } catch {
      throw transactionCause(of: error)
    }
  }

  static func user(_ login: String, _ name: String, _ roles: [String], _ managerID: String?) throws -> WebUser {
    try WebUser(
      login: login, displayName: name, roles: Set(roles.compactMap(Role.init(rawValue:))), managerID: managerID)
  }
}
