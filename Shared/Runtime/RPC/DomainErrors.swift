import CRMDatabase
import GRPCCore

extension RPCError {
  /// The status a handler answers for a domain failure: bad input is INVALID_ARGUMENT, a broken
  /// rule FAILED_PRECONDITION, a stale version ABORTED (the current version also travels as
  /// `crm-current-version`), a missing row NOT_FOUND. Other errors are not the caller's to see:
  /// nil. Looks inside a transaction's error.
  public init?(domain error: any Error) {
    switch transactionCause(of: error) {
    case let invalid as InvalidField:
      self.init(code: .invalidArgument, message: invalid.description)
    case let carriesStatus as any RPCErrorConvertible where !(carriesStatus is RPCError):
      // An error that names its own status (e.g. `EventTooLarge`), found inside a transaction's error too.
      self.init(carriesStatus)
    case let broken as RuleBroken:
      self.init(code: .failedPrecondition, message: broken.description)
    case let conflict as VersionConflict:
      self.init(
        code: .aborted,
        message: conflict.description,
        metadata: ["crm-current-version": "\(conflict.current)"]
      )
    case let missing as NotFound:
      self.init(code: .notFound, message: missing.description)
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
