import CRMDatabase
import CRMDomain
import Foundation
import Logging
import PostgresNIO

/// `reporting users …`: the operator's command for the people who sign in to the web edge, run
/// against the reporting database (`CRM_DATABASE_URL`) like `<service> outbox …`. The running
/// service applies the tables; the password comes on standard input, never on the command line
/// (where `ps` and shell histories would show it).
public enum UsersCommand {
  public static let usage = """
    usage: reporting users put LOGIN --name NAME --roles ROLE[,ROLE] [--manager-id ID]
               creates or changes a user; his new password is the first line of standard input
               (10 to 72 bytes; an empty input keeps the password of an existing user). A change
               ends his sessions. Roles: manager, head_of_sales (sales) or qc_reviewer, qc_head.
           reporting users disable LOGIN     no more sign-in; his sessions end
           reporting users list
    needs CRM_DATABASE_URL
    """

  enum Action: Equatable {
    case put(WebUser)
    case disable(String)
    case list
  }

  /// Runs the command (`arguments` after "users"); exit code 0 done, 2 usage, 1 failure.
  public static func run(_ arguments: [String], environment: [String: String], input: () -> String? = { readLine() })
    async -> Int32
  {
    let action: Action
    let database: PostgresClient.Configuration
    var passwordHash: String?
    do {
      action = try parse(arguments)
      guard let url = environment["CRM_DATABASE_URL"] else {
        throw InvalidField(field: "CRM_DATABASE_URL", reason: "is not set")
      }
      database = try DatabaseURL.parse(url)
      if case .put = action, let line = input(), !line.isEmpty {
        passwordHash = await Passwords.hash(try Passwords.checked(line))
      }
    } catch {
      write("users: \(error)\n\(usage)\n", to: .standardError)
      return 2
    }
    let logger = Logger(label: "crm.users-command")
    let client = PostgresClient(configuration: database, backgroundLogger: logger)
    let store = WebStore(client: client, logger: logger)
    return await withTaskGroup(of: Void.self) { group in
      group.addTask { await client.run() }
      defer { group.cancelAll() }
      do {
        switch action {
        case .put(let user):
          let created = try await store.put(user, passwordHash: passwordHash)
          write("\(created ? "created" : "changed") \(user.login)\n", to: .standardOutput)
        case .disable(let login):
          guard try await store.disable(login: login) else {
            write("users: no user \(login)\n", to: .standardError)
            return 1
          }
          write("disabled \(login)\n", to: .standardOutput)
        case .list:
          for listed in try await store.users() {
            let user = listed.user
            write(
              [
                user.login, user.roles.sorted().map(\.rawValue).joined(separator: ","), user.managerID ?? "-",
                listed.disabled ? "disabled" : "enabled", user.displayName,
              ].joined(separator: "\t") + "\n", to: .standardOutput)
          }
        }
        return 0
      } catch let error as InvalidField {
        write("users: \(error)\n", to: .standardError)
        return 2
      } catch {
        let cause = transactionCause(of: error)
        let detail = (cause as? PSQLError).map { String(reflecting: $0) } ?? "\(cause)"
        write("users: \(detail)\n", to: .standardError)
        return 1
      }
    }
  }

  static func parse(_ arguments: [String]) throws(InvalidField) -> Action {
    switch arguments.first {
    case "list" where arguments.count == 1:
      return .list
    case "disable" where arguments.count == 2:
      return .disable(try WebUser.checked(login: arguments[1]))
    case "put" where arguments.count >= 2:
      var options: [String: String] = [:]
      var rest = arguments.dropFirst(2)
      while let name = rest.popFirst() {
        guard ["--name", "--roles", "--manager-id"].contains(name), options[name] == nil, let value = rest.popFirst()
        else { throw InvalidField(field: name, reason: "is not an option of put, or is repeated or has no value") }
        options[name] = value
      }
      guard let name = options["--name"] else { throw InvalidField(field: "--name", reason: "is required") }
      guard let roles = options["--roles"] else { throw InvalidField(field: "--roles", reason: "is required") }
      return .put(
        try WebUser(
          login: arguments[1], displayName: name, roles: try WebUser.roles(parsing: roles),
          managerID: options["--manager-id"]))
    default:
      throw InvalidField(field: "arguments", reason: "not a users command")
    }
  }

  static func write(_ text: String, to handle: FileHandle) { handle.write(Data(text.utf8)) }
}
