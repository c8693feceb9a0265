import CRMDomain
import PostgresNIO

/// How the inbox treats an error from applying one record.
enum InboxFailure: Sendable, Equatable {
  /// Can never succeed (the handler rejected the content, `EventRejected` or a domain error such
  /// as INVALID_ARGUMENT; PostgreSQL refused the data, SQLSTATE class 22 or 23): dead-lettered at once.
  case permanent(String)
  /// May pass (a serialization failure or deadlock, 40001 / 40P01, or an error of unknown
  /// kind): retried with backoff, dead-lettered after `InboxConsumer.Retry.maxAttempts`.
  case transient(String)
  /// The database cannot be reached: no record's fault, every record would fail alike, so it is
  /// retried until the database is back and never dead-lettered.
  case unavailable(String)

  init(_ error: any Error) {
    let cause = Self.cause(of: error)
    if let rejected = cause as? EventRejected {
      self = .permanent("rejected: \(rejected.reason)")
      return
    }
    if let domain = cause as? any DomainError {
      switch domain.status {
      // A concurrent change, or a row another event brings (perhaps on another topic): may pass.
      case .aborted, .notFound, .resourceExhausted: self = .transient("\(domain.status): \(domain)")
      // Content the domain refuses whenever it comes.
      case .invalidArgument, .failedPrecondition, .alreadyExists, .permissionDenied:
        self = .permanent("\(domain.status): \(domain)")
      }
      return
    }
    guard let psql = cause as? PSQLError else {
      self = .transient(String(reflecting: cause))
      return
    }
    guard let state = psql.serverInfo?[.sqlState] else {
      switch psql.code {
      case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
        self = .unavailable("database connection: \(psql.code)")
      default:
        self = .transient("database: \(psql.code)")
      }
      return
    }
    let text = "SQLSTATE \(state): \(psql.serverInfo?[.message] ?? "")"
    switch state.prefix(2) {
    case "22", "23": self = .permanent(text)  // data exception, integrity constraint violation
    case "08", "53", "57": self = .unavailable(text)  // connection, resources, operator intervention
    default: self = .transient(text)  // 40001, 40P01, and anything else gets its tries
    }
  }

  /// The error inside a transaction's wrapper: the body's, else the commit's, else the begin's.
  static func cause(of error: any Error) -> any Error {
    guard let wrapped = error as? PostgresTransactionError else { return error }
    return wrapped.closureError ?? wrapped.commitError ?? wrapped.beginError ?? error
  }

  var reason: String {
    switch self {
    case .permanent(let reason), .transient(let reason), .unavailable(let reason): reason
    }
  }
}
