import CRMDomain
import CRMIdentity

/// A person who signs in to the web edge. The roles are those of the identity issue; the
/// principal the edge calls other services as is built from them (`principal`).
public struct WebUser: Sendable, Equatable {
  /// The roles a person may hold here (operators and services do not sign in).
  public static let assignableRoles: [Role] = [.manager, .headOfSales, .qcReviewer, .qcHead]
  static let salesSide: Set<Role> = [.manager, .headOfSales]
  static let qualitySide: Set<Role> = [.qcReviewer, .qcHead]

  public var login: String
  public var displayName: String
  public var roles: Set<Role>
  /// A manager's id as deals' `owner_id` has it: the subject of his principal.
  public var managerID: String?

  /// Checks every field; the error names the first that is wrong.
  public init(login: String, displayName: String, roles: Set<Role>, managerID: String?) throws(InvalidField) {
    self.login = try Self.checked(login: login)
    self.displayName = try Text.field(displayName, "name", limit: 100, required: true)
    guard !roles.isEmpty else { throw InvalidField(field: "roles", reason: "at least one role") }
    if let other = roles.first(where: { !Self.assignableRoles.contains($0) }) {
      throw InvalidField(
        field: "roles",
        reason: "\(other.rawValue) is not a person's role here; one of "
          + Self.assignableRoles.map(\.rawValue).joined(separator: ", "))
    }
    // The wall (DESIGN §6): nobody both sells and reviews.
    guard roles.isSubset(of: Self.salesSide) || roles.isSubset(of: Self.qualitySide) else {
      throw InvalidField(field: "roles", reason: "sales roles and quality-control roles are never held together")
    }
    if roles.contains(.manager) {
      guard let managerID else { throw InvalidField(field: "manager-id", reason: "a manager needs his manager id") }
      self.managerID = try Self.checked(subject: managerID, field: "manager-id")
    } else if managerID != nil {
      throw InvalidField(field: "manager-id", reason: "only a manager has a manager id")
    } else {
      self.managerID = nil
    }
    self.roles = roles
  }

  /// A login: 1 to 64 of a-z 0-9 . _ - (it is the subject of a reviewer's principal).
  public static func checked(login: String) throws(InvalidField) -> String {
    try checked(subject: login, field: "login")
  }

  static func checked(subject: String, field: String) throws(InvalidField) -> String {
    do {
      _ = try Principal(subject: subject, roles: [.qcReviewer])
    } catch {
      throw InvalidField(field: field, reason: "is not 1 to 64 of a-z 0-9 . _ - (lower case)")
    }
    return subject
  }

  /// Who the edge calls other services as for this person: a manager by his manager id, anyone
  /// else by login, with every role he holds.
  public var principal: Principal {
    do {
      return try Principal(subject: managerID ?? login, roles: roles)
    } catch {
      preconditionFailure("a checked user makes a valid principal: \(error)")
    }
  }

  public var reviews: Bool { roles.contains(.qcReviewer) }
  public var seesDashboard: Bool { !roles.isDisjoint(with: Self.salesSide) }
}

/// Parses roles from "manager,head_of_sales"; the error names the unknown word.
extension WebUser {
  public static func roles(parsing text: String) throws(InvalidField) -> Set<Role> {
    var roles: Set<Role> = []
    for word in text.split(separator: ",", omittingEmptySubsequences: false) {
      guard let role = Role(rawValue: String(word)), assignableRoles.contains(role) else {
        throw InvalidField(
          field: "roles",
          reason: "\(Text.quoted(String(word))) is not one of "
            + assignableRoles.map(\.rawValue).joined(separator: ", "))
      }
      roles.insert(role)
    }
    return roles
  }
}
