import CRMDatabase
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
    let cause = transactionCause(of: error)
    if let rejected = cause as? EventRejected {
      self = .permanent("rejected: \(rejected.reason)")
      return
    }
    if let domain = cause as? any DomainError {
      switch domain.status {
      // A concurrent change, or a row another event brings (perhaps on another topic): may pass.
      case .aborted, .notFound, .resourceExhausted: self = .transient("\(domain.status): \(domain)")
      // Content the domain refuses whenever it comes.
      case .invalidArgument, .failedPrecondition, .alreadyExists, .permissionDenied, .unauthenticated:
        self = .permanent("\(domain.status): \(domain)")
      }
      return
    }
    if let failure = DatabaseFailure(cause) {
      let text = "SQLSTATE \(failure.state): \(failure.message)"
      switch failure.kind {
      case .badData, .constraint: self = .permanent(text)
      case .unavailable: self = .unavailable(text)
      case .conflict, .other: self = .transient(text)  // gets its tries
      }
      return
    }
    guard let psql = cause as? PSQLError else {
      self = .transient(String(reflecting: cause))
      return
    }
    // No SQLSTATE: the connection's own failure, or the client's.
    switch psql.code {
    case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
      self = .unavailable("database connection: \(psql.code)")
    default:
      self = .transient("database: \(psql.code)")
    }
  }

  var reason: String {
    switch self {
    case .permanent(let reason), .transient(let reason), .unavailable(let reason): reason
    }
  }
}
