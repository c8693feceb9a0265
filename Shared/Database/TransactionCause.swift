import PostgresNIO

/// The error a transaction's body threw, when `withTransaction` wrapped it in a
/// `PostgresTransactionError`; otherwise `error` itself. Callers match their domain errors on this.
public func transactionCause(of error: any Error) -> any Error {
  (error as? PostgresTransactionError)?.closureError ?? error
}
