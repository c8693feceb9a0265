import Foundation
import NIOSSL
import PostgresNIO

/// `postgres://user:password@host:port/database?sslmode=disable|prefer|require&search_path=schema`
/// → client configuration. `search_path` puts a service's tables in a schema of its own (tests
/// run several copies of a service on one database that way).
public enum DatabaseURL {
  public struct Invalid: Error, Sendable, Equatable {
    /// What is wrong, e.g. "has no database name".
    public var reason: String
  }

  public static let expectedForm =
    "postgres://user:password@host:port/database[?sslmode=disable|prefer|require][&search_path=schema]"

  public static func parse(_ text: String) throws(Invalid) -> PostgresClient.Configuration {
    guard let url = URLComponents(string: text), let scheme = url.scheme else {
      throw Invalid(reason: "is not a URL")
    }
    guard scheme == "postgres" || scheme == "postgresql" else {
      throw Invalid(reason: "has scheme \"\(scheme)\", not postgres")
    }
    guard let host = url.host, !host.isEmpty else { throw Invalid(reason: "has no host") }
    guard let user = url.user, !user.isEmpty else { throw Invalid(reason: "has no user name") }
    let database = String(url.path.drop(while: { $0 == "/" }))
    guard !database.isEmpty, !database.contains("/") else { throw Invalid(reason: "has no database name") }
    let port = url.port ?? 5432
    guard (1...65535).contains(port) else { throw Invalid(reason: "has port \(port), outside 1–65535") }

    let tls: PostgresClient.Configuration.TLS
    let sslMode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "prefer"
    switch sslMode {
    case "disable": tls = .disable
    case "prefer": tls = .prefer(.makeClientConfiguration())
    case "require": tls = .require(.makeClientConfiguration())
    default: throw Invalid(reason: "has sslmode \"\(sslMode)\"; expected disable, prefer or require")
    }
    var configuration = PostgresClient.Configuration(
      host: host,
      port: port,
      username: user.removingPercentEncoding ?? user,
      password: url.password?.removingPercentEncoding,
      database: database,
      tls: tls
    )
    configuration.options.connectTimeout = .seconds(3)
    if let path = url.queryItems?.first(where: { $0.name == "search_path" })?.value {
      let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_,")
      guard !path.isEmpty, path.allSatisfy({ allowed.contains($0) }) else {
        throw Invalid(reason: "has search_path \"\(path)\"; expected lower-case schema names separated by commas")
      }
      configuration.apply(sessionSettings: ["search_path": path])
    }
    return configuration
  }
}
