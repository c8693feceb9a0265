import CRMDomain

/// What a principal may be (DESIGN §4 "Identity"). The raw values are what tokens carry.
public enum Role: String, Sendable, Hashable, CaseIterable, Comparable {
  /// Operators (crmctl, admin): everything, recorded as such.
  case `operator`
  /// A head of sales: everything a manager may, for every manager; defines pipelines.
  case headOfSales = "head_of_sales"
  /// A sales manager: reads cards, changes his own cards and deals.
  case manager
  /// The quality-control desk's head: quality-control's methods only.
  case qcHead = "qc_head"
  /// A quality-control reviewer: quality-control's reviewer methods only.
  case qcReviewer = "qc_reviewer"
  /// One of the CRM's own services, for the calls and events it makes.
  case service

  /// The more privileged role first: a principal holding several is recorded by the first.
  public static func < (lhs: Role, rhs: Role) -> Bool {
    allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
  }
}

/// A verified caller: who (`subject`, e.g. a manager's id `m-17` or a service's name) and what
/// it may do (`roles`). Handlers read it from `Principal.current`; nothing else says who calls.
public struct Principal: Sendable, Hashable, CustomStringConvertible {
  public var subject: String
  public var roles: Set<Role>

  /// Set for a handler's task by the runtime once the call's token is verified.
  @TaskLocal public static var current: Principal?

  /// The verified caller of the handler running now; UNAUTHENTICATED outside a verified call.
  public static var verified: Principal {
    get throws(Unauthenticated) {
      guard let current else { throw Unauthenticated("no verified caller") }
      return current
    }
  }

  public init(subject: String, roles: Set<Role>) throws(InvalidField) {
    try Self.check(subject: subject)
    guard !roles.isEmpty else { throw InvalidField(field: "roles", reason: "a principal holds at least one role") }
    self.subject = subject
    self.roles = roles
  }

  /// `role:subject`, e.g. `manager:m-17` (as crmctl's `--as` takes it).
  public init(parsing text: String) throws(InvalidField) {
    let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    guard parts.count == 2, let role = Role(rawValue: String(parts[0])) else {
      throw InvalidField(
        field: "principal",
        reason: "\"\(text.prefix(80))\" is not role:subject with a role of "
          + Role.allCases.map(\.rawValue).joined(separator: ", "))
    }
    try self.init(subject: String(parts[1]), roles: [role])
  }

  /// The role it is recorded by: the most privileged it holds.
  public var role: Role { roles.min()! }

  /// What history rows and events record as the actor: `role:subject`.
  public var description: String { "\(role.rawValue):\(subject)" }

  public func holds(_ role: Role) -> Bool { roles.contains(role) }

  /// Sees and changes every manager's cards and deals.
  public var actsForEveryone: Bool { holds(.operator) || holds(.headOfSales) }

  /// The prefix of every reply topic this principal may read: replies are sent only there, so a
  /// process cannot have another caller's answers sent to it. Kafka topic names allow the
  /// subject's characters as they are (see `check(subject:)`).
  public var replyTopicPrefix: String { "crm.rpc.reply.\(role.rawValue).\(subject)." }

  /// Subjects name people and services and become part of topic names (which are
  /// case-sensitive; one spelling per subject): 1 to 64 of `a-z 0-9 . _ -`.
  static func check(subject: String) throws(InvalidField) {
    guard (1...64).contains(subject.utf8.count), subject.utf8.allSatisfy(Self.subjectCharacter) else {
      throw InvalidField(
        field: "subject", reason: "\"\(subject.prefix(80))\" is not 1 to 64 of a-z 0-9 . _ - (lower case)")
    }
  }

  private static func subjectCharacter(_ byte: UInt8) -> Bool {
    (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte) || byte == UInt8(ascii: "-")
      || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
  }
}
