import PostgresNIO

/// A statement that PostgreSQL refused because it would break a unique or foreign-key
/// constraint: which kind, and the constraint's name. Services turn it into a domain answer
/// (the duplicate's owner, the missing row) instead of an internal error.
public struct ConstraintViolation: Sendable, Equatable {
  public enum Kind: Sendable { case unique, foreignKey }

  public var kind: Kind
  public var constraint: String

  public init(kind: Kind, constraint: String) {
    self.kind = kind
    self.constraint = constraint
  }

  /// The violation behind `error` (also when a transaction wraps it), or nil.
  public init?(_ error: any Error) {
    guard let error = transactionCause(of: error) as? PSQLError, let info = error.serverInfo,
      let state = info[.sqlState], let constraint = info[.constraintName]
    else { return nil }
    switch state {
    case "23505": kind = .unique
    case "23503": kind = .foreignKey
    default: return nil
    }
    self.constraint = constraint
  }
}
