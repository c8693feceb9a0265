import CRMDatabase
import CRMDomain
import GRPCCore

extension RPCError {
  /// The status a handler answers for a domain failure: the one the error carries (`DomainError`:
  /// bad input INVALID_ARGUMENT, a broken rule FAILED_PRECONDITION, a stale version ABORTED with
  /// `crm-current-version`, a missing row NOT_FOUND, …), or the one a database failure means.
  /// Other errors are not the caller's to see: nil. Looks inside a transaction's error.
  public init?(domain error: any Error) {
    if let failure = DatabaseFailure(error) {
      switch failure.kind {
      case .conflict:
        // PostgreSQL rolled the change back to let a concurrent one through: it can pass now.
        self.init(
          code: .aborted, message: "the change collided with a concurrent one (SQLSTATE \(failure.state)); try again")
      case .badData:
        // A value the input checks let through but the database refuses.
        self.init(code: .invalidArgument, message: "a value the database refuses (SQLSTATE \(failure.state))")
      case .constraint, .unavailable, .other:
        return nil
      }
      return
    }
    switch transactionCause(of: error) {
    case let domain as any DomainError:
      var metadata = Metadata()
      for (key, value) in domain.details.sorted(by: { $0.key < $1.key }) { metadata.addString(value, forKey: key) }
      self.init(code: domain.status.code, message: domain.description, metadata: metadata)
    case let rpc as RPCError:
      self = rpc
    default:
      return nil
    }
  }
}

/// Runs a handler's `body`, answering domain failures with their gRPC status (see
/// `RPCError(domain:)`); anything else goes on as it is.
public func answering<T>(_ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch {
    throw RPCError(domain: error) ?? error
  }
}

extension FailureStatus {
  /// gRPC's code for this status.
  public var code: RPCError.Code {
    switch self {
    case .invalidArgument: .invalidArgument
    case .notFound: .notFound
    case .alreadyExists: .alreadyExists
    case .failedPrecondition: .failedPrecondition
    case .aborted: .aborted
    case .permissionDenied: .permissionDenied
    case .resourceExhausted: .resourceExhausted
    case .unauthenticated: .unauthenticated
    }
  }
}
