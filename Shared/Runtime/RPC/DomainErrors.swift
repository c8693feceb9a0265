import CRMDatabase
import GRPCCore

extension RPCError {
  /// The status a handler answers for a failure of the database kit: a stale version is ABORTED
  /// (the current version also travels as `crm-current-version`), a missing row NOT_FOUND.
  /// Other errors are not the caller's to see: nil. Looks inside a transaction's error.
  public init?(domain error: any Error) {
    switch transactionCause(of: error) {
    case let conflict as VersionConflict:
      self.init(
        code: .aborted,
        message: conflict.description,
        metadata: ["crm-current-version": "\(conflict.current)"]
      )
    case let missing as NotFound:
      self.init(code: .notFound, message: missing.description)
    default:
      return nil
    }
  }
}
