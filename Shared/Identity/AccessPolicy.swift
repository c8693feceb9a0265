import CRMDomain

/// Which roles may call which methods of a service: checked before any handler runs. A method
/// without a rule is refused to everyone but operators, so a new method is closed until its
/// service says who may call it. Object-level rules (a manager's own deals and cards) are the
/// handlers' (see `Principal.mayChange(ownedBy:)`).
public struct AccessPolicy: Sendable {
  public struct Rule: Sendable {
    public var roles: Set<Role>
    /// What the rule says, for the denial: e.g. "only a head of sales defines pipelines".
    public var says: String

    public init(_ roles: Set<Role>, _ says: String) {
      self.roles = roles
      self.says = says
    }
  }

  /// By fully qualified method, e.g. `crm.deals.v1.Deals/DefinePipeline`.
  public var rules: [String: Rule]

  public init(_ rules: [String: Rule] = [:]) { self.rules = rules }

  /// People of the sales department and the CRM's services: the readers of cards and deals.
  public static let salesStaff: Set<Role> = [.operator, .headOfSales, .manager, .service]

  /// Diagnostics (Echo) on every service: everyone but the quality-control desk, which may call
  /// nothing but its own methods.
  public static let diagnostics = AccessPolicy([
    "crm.common.v1.Diagnostics/Echo": Rule(salesStaff, "quality-control may call only its reviewer methods")
  ])

  /// This policy with `other`'s rules added (other's win).
  public func merging(_ other: AccessPolicy) -> AccessPolicy {
    AccessPolicy(rules.merging(other.rules) { $1 })
  }

  /// Refuses the call unless the principal holds a role the method's rule names.
  public func check(_ principal: Principal, calling method: String) throws(PermissionDenied) {
    if principal.holds(.operator) { return }
    guard let rule = rules[method] else {
      throw PermissionDenied(rule: "\(method) is open to operators only")
    }
    guard !principal.roles.isDisjoint(with: rule.roles) else {
      throw PermissionDenied(rule: "\(method): \(rule.says) (the caller is \(principal))")
    }
  }
}

extension Principal {
  /// A manager changes only what he owns; a head of sales and an operator change everyone's; the
  /// CRM's services act on behalf of whoever asked them.
  public func mayChange(ownedBy owner: String) -> Bool {
    actsForEveryone || holds(.service) || (holds(.manager) && owner == subject)
  }

  /// Refuses unless `mayChange(ownedBy:)`; `what` names the object, e.g. "deal 5f…".
  public func checkMayChange(_ what: String, ownedBy owner: String) throws(PermissionDenied) {
    guard mayChange(ownedBy: owner) else {
      throw PermissionDenied(
        rule: "a manager changes only his own \(what); it belongs to \(owner), the caller is \(self)")
    }
  }
}
