import PostgresNIO

/// The error behind a transaction's failure, when `withTransaction` wrapped it in a
/// `PostgresTransactionError`: the body's, else the commit's (a serialization failure or a
/// deferred constraint shows only there), else the begin's; otherwise `error` itself. Callers
/// match their domain errors and SQLSTATEs on this.
public func transactionCause(of error: any Error) -> any Error {
  guard let wrapped = error as? PostgresTransactionError else { return error }
  return wrapped.closureError ?? wrapped.commitError ?? wrapped.beginError ?? error
}

/// What PostgreSQL's SQLSTATE says about a failure, for every place that answers one (the RPC
/// status of a handler's failure, the inbox's retry or dead letter).
public struct DatabaseFailure: Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// 40001 serialization failure, 40P01 deadlock: rolled back to let a concurrent change
    /// through; the same change may pass now.
    case conflict
    /// Class 22, data exception: a value the database refuses whenever it comes.
    case badData
    /// Class 23, integrity constraint violation.
    case constraint
    /// Classes 08, 53, 57: connection, resources, operator intervention; nobody's input.
    case unavailable
    case other
  }

  public var kind: Kind
  public var state: String
  public var message: String

  /// The SQLSTATE behind `error` (also inside a transaction's wrapper); nil when it has none.
  public init?(_ error: any Error) {
    guard let error = transactionCause(of: error) as? PSQLError, let state = error.serverInfo?[.sqlState] else {
      return nil
    }
    self.state = state
    message = error.serverInfo?[.message] ?? ""
    kind =
      switch (state, state.prefix(2)) {
      case ("40001", _), ("40P01", _): .conflict
      case (_, "22"): .badData
      case (_, "23"): .constraint
      case (_, "08"), (_, "53"), (_, "57"): .unavailable
      default: .other
      }
  }
}
