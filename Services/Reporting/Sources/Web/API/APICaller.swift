import CRMIdentity

/// Who calls the JSON API, and with what: a bearer token or the web session (whose CSRF token
/// an unsafe method must carry). Set by `APIGuard` for the handler's task.
struct APICaller: Sendable {
  enum Credential: Sendable {
    case bearer(token: String)
    case session(id: String, csrfToken: String)
  }

  var user: WebUser
  var credential: Credential

  @TaskLocal static var current: APICaller?

  /// The caller of the handler running now (APIGuard lets no unauthenticated call through).
  static var verified: APICaller {
    get throws(APIError) {
      guard let current else { throw APIError.unauthenticated }
      return current
    }
  }

  var principal: Principal { user.principal }
}

/// The connection's client address, for the sign-in throttle (set by the API's router middleware:
/// the generated handlers see no request context).
enum APIClient {
  @TaskLocal static var address = "unknown"
}
