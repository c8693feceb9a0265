/// How a domain failure is answered: gRPC's status codes, named here so that domain code,
/// repositories and the database kit need not depend on gRPC.
public enum FailureStatus: Sendable {
  /// Bad input: names the field and why; nothing was written.
  case invalidArgument
  case notFound
  case alreadyExists
  /// A rule of the sales process the request would break.
  case failedPrecondition
  /// A concurrent change won: reload and try again.
  case aborted
  case permissionDenied
  case resourceExhausted
  /// No verified caller: the token is missing, expired, forged or for another audience.
  case unauthenticated
}

/// An error that carries its own status: the RPC runtime answers it as it says, so no service
/// wraps its handlers to translate its errors.
public protocol DomainError: Error, Sendable, CustomStringConvertible {
  var status: FailureStatus { get }
  /// Facts for the caller beside the message, sent as response metadata (e.g. the current version).
  var details: [String: String] { get }
}

extension DomainError {
  public var details: [String: String] { [:] }
}

/// Bad input, naming the field and why: answered as INVALID_ARGUMENT, nothing written.
public struct InvalidField: DomainError, Equatable {
  public var field: String
  public var reason: String
  public var description: String { "\(field): \(reason)" }
  public var status: FailureStatus { .invalidArgument }

  public init(field: String, reason: String) {
    self.field = field
    self.reason = reason
  }
}

/// A rule of the sales process the request would break: FAILED_PRECONDITION.
public struct RuleBroken: DomainError, Equatable {
  public var description: String
  public var status: FailureStatus { .failedPrecondition }

  public init(description: String) { self.description = description }
}

/// The aggregate named does not exist.
public struct NotFound: DomainError, Equatable {
  public var entity: String
  public var id: String
  public var status: FailureStatus { .notFound }

  public init(entity: String, id: String) {
    self.entity = entity
    self.id = id
  }

  public var description: String { "\(entity) \(id) does not exist" }
}

/// Optimistic concurrency: an update named a version someone else has changed since. The
/// current version travels with the answer (`crm-current-version`).
public struct VersionConflict: DomainError, Equatable {
  public var entity: String
  public var id: String
  public var expected: Int64
  public var current: Int64
  public var status: FailureStatus { .aborted }
  public var details: [String: String] { ["crm-current-version": "\(current)"] }

  public init(entity: String, id: String, expected: Int64, current: Int64) {
    self.entity = entity
    self.id = id
    self.expected = expected
    self.current = current
  }

  public var description: String {
    "\(entity) \(id) is at version \(current), not \(expected): reload it and apply the change again"
  }
}

/// The verified caller may not do this: names the rule, never a silent empty answer.
public struct PermissionDenied: DomainError, Equatable {
  public var rule: String
  public var status: FailureStatus { .permissionDenied }
  public var description: String { "permission denied: \(rule)" }

  public init(rule: String) { self.rule = rule }
}

/// The call carries no token this service accepts: says why (missing, expired, signature, …).
public struct Unauthenticated: DomainError, Equatable {
  public var reason: String
  public var status: FailureStatus { .unauthenticated }
  public var description: String { "unauthenticated: \(reason)" }

  public init(_ reason: String) { self.reason = reason }
}
