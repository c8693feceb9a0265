/// A missing or malformed `CRM_…` variable; the message names it and the expected form.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
  public var variable: String
  public var problem: String
  public var expected: String

  public init(variable: String, problem: String, expected: String) {
    self.variable = variable
    self.problem = problem
    self.expected = expected
  }

  public var description: String { "\(variable) \(problem); expected \(expected)" }
}
