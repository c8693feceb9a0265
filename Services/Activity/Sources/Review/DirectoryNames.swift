import CRMReview
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The names of every contact in the directory, as `KnownNames` of the role `.person`, kept in
/// memory: a report is cleared of anyone the service knows, not only of its own client.
/// Building them is the cost (a read of every name, a skeleton per word), so a replica builds
/// them once and again only when a name was added (`known_names_version` moved: read with each
/// report's subject). At most `limit` names, the newest: past that, a report still loses its own
/// client's, company's and every phone, e-mail and number, but not the oldest names of other
/// contacts.
final class DirectoryNames: Sendable {
  static let limit = 200_000

  private let cache = Mutex<(version: Int64, names: KnownNames)>((-1, KnownNames()))

  init() {}

  /// The directory's names as of `latest` (`known_names_version`, read by the caller with what
  /// it reads anyway), read again only when it moved. A read may hold names added after
  /// `latest`: they are cleared too, and the next version reads them again.
  func current(version latest: Int64, client: PostgresClient, logger: Logger) async throws -> KnownNames {
    if let names = cache.withLock({ $0.version == latest ? $0.names : nil }) { return names }
    var names = KnownNames()
    var count = 0
    let rows = try await client.query(
      """
      SELECT name FROM known_names WHERE kind = 'contact' ORDER BY seq DESC LIMIT \(Self.limit)
      """,
      logger: logger)
    for try await name in rows.decode(String.self) {
      names.add(name, as: .person)
      count += 1
    }
    if count == Self.limit {
      logger.warning(
        "review items: the directory holds more than \(Self.limit) contact names; the oldest are not looked for")
    }
    cache.withLock { if $0.version < latest { $0 = (latest, names) } }
    return names
  }
}
