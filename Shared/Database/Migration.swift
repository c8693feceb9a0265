/// One versioned schema change of a service's database. Statements run in order, in one
/// transaction, with the version recorded in the same transaction.
public struct Migration: Sendable, Equatable {
  public var version: Int
  public var name: String
  public var statements: [String]

  public init(version: Int, name: String, statements: [String]) {
    self.version = version
    self.name = name
    self.statements = statements
  }
}
