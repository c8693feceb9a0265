import PostgresNIO

extension PostgresClient.Configuration {
  /// Sends `settings` (PostgreSQL parameter → value) when each connection starts, so they hold
  /// for every session of the pool: what belongs to a service rather than to one query, such as
  /// how its prepared statements are planned. Kept beside other startup parameters (`search_path`).
  public mutating func apply(sessionSettings settings: [String: String]) {
    for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
      options.additionalStartupParameters.removeAll { $0.0 == name }
      options.additionalStartupParameters.append((name, value))
    }
  }
}
