import CRMRuntime

/// The web edge's settings (`CRM_WEB_…`). Without `CRM_WEB_PORT` the service has no web edge.
public struct WebSettings: Sendable, Equatable {
  public var host: String
  public var port: Int
  /// Cookies marked Secure: set wherever the edge is reached over HTTPS (a proxy in front).
  public var secureCookies: Bool
  /// How long a session lasts after sign-in.
  public var sessionLifetime: Duration
  /// How long a bearer token of the JSON API lasts (`CRM_WEB_TOKEN_MINUTES`, default 60).
  public var tokenLifetime: Duration

  public init(
    host: String = "127.0.0.1", port: Int, secureCookies: Bool = false, sessionMinutes: Int = 480,
    tokenMinutes: Int = 60
  ) {
    self.host = host
    self.port = port
    self.secureCookies = secureCookies
    self.sessionLifetime = .seconds(sessionMinutes * 60)
    self.tokenLifetime = .seconds(tokenMinutes * 60)
  }

  /// Nil when `CRM_WEB_PORT` is unset; the error names the variable that is malformed.
  public init?(_ configuration: ServiceConfiguration) throws(ConfigurationError) {
    let env = configuration.environment
    guard env.optional("CRM_WEB_PORT") != nil else { return nil }
    let port = try env.integer("CRM_WEB_PORT", default: 0, in: 1...65535)
    guard port != configuration.httpPort else {
      throw ConfigurationError(
        variable: "CRM_WEB_PORT", problem: "is \(port), the port of health and metrics (CRM_HTTP_PORT)",
        expected: "a port of its own")
    }
    let secure = try env.choice("CRM_WEB_SECURE_COOKIES", default: false, from: ["true": true, "false": false])
    self.init(
      host: env.optional("CRM_WEB_HOST") ?? configuration.httpHost, port: port, secureCookies: secure,
      sessionMinutes: try env.integer("CRM_WEB_SESSION_MINUTES", default: 480, in: 5...10_080),
      tokenMinutes: try env.integer("CRM_WEB_TOKEN_MINUTES", default: 60, in: 5...1_440))
  }
}
