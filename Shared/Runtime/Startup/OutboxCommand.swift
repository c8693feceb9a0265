import CRMDatabase
import CRMEvents
import Foundation
import Logging
import PostgresNIO

/// `<service> outbox …`: the operator's command for the service's outbox, run by every service
/// executable (`ServiceMain`) against `CRM_DATABASE_URL`; the running relay does the publishing.
public enum OutboxCommand {
  public static let usage = """
    usage: <service> outbox list                      parked rows (the relay could not publish them)
           <service> outbox republish ID… | --all     hand parked rows back to the relay
           <service> outbox replay --from T [--to T]  publish again the rows sent in [T, T) (ISO 8601,
                                                      e.g. after the broker lost its records; default to: now)
    needs CRM_DATABASE_URL
    """

  /// Runs the command (`arguments` after "outbox"); returns the exit code: 0 done, 2 usage or
  /// configuration error, 1 failure.
  public static func run(_ arguments: [String], environment: [String: String]) async -> Int32 {
    let action: Action
    let database: PostgresClient.Configuration
    do {
      action = try Action(arguments)
      guard let url = environment["CRM_DATABASE_URL"] else { throw UsageError("CRM_DATABASE_URL is not set") }
      database = try DatabaseURL.parse(url)
    } catch {
      write("\(error)\n\(usage)\n", to: .standardError)
      return 2
    }
    let logger = Logger(label: "crm.outbox-command")
    let client = PostgresClient(configuration: database, backgroundLogger: logger)
    return await withTaskGroup(of: Int32?.self) { group in
      group.addTask {
        await client.run()
        return nil
      }
      defer { group.cancelAll() }
      do {
        write(try await action.perform(on: client, logger: logger), to: .standardOutput)
        return 0
      } catch {
        write("outbox: \(describe(transactionCause(of: error)))\n", to: .standardError)
        return 1
      }
    }
  }

  enum Action: Equatable {
    case list
    case republish([Int64]?)
    case replay(from: Date, to: Date?)

    init(_ arguments: [String]) throws {
      switch arguments.first {
      case "list" where arguments.count == 1:
        self = .list
      case "republish" where arguments.dropFirst() == ["--all"]:
        self = .republish(nil)
      case "republish" where arguments.count > 1:
        let ids = arguments.dropFirst().compactMap { Int64($0) }
        guard ids.count == arguments.count - 1 else { throw UsageError("republish takes row ids or --all") }
        self = .republish(ids)
      case "replay":
        var from: Date?
        var to: Date?
        var rest = arguments.dropFirst()
        while let option = rest.popFirst() {
          guard let text = rest.popFirst(), let date = ISO8601DateFormatter().date(from: text) else {
            throw UsageError("\(option) takes a time like 2026-12-01T10:00:00Z")
          }
          switch option {
          case "--from": from = date
          case "--to": to = date
          default: throw UsageError("unknown option \(option)")
          }
        }
        guard let from else { throw UsageError("replay needs --from") }
        self = .replay(from: from, to: to)
      default:
        throw UsageError("unknown outbox command: \(arguments.joined(separator: " "))")
      }
    }

    func perform(on client: PostgresClient, logger: Logger) async throws -> String {
      switch self {
      case .list:
        let rows = try await OutboxParking.list(client, logger: logger)
        guard !rows.isEmpty else { return "no parked rows\n" }
        return rows.map { row in
          "\(row.id)\t\(row.topic)\t\(row.key)\t\(row.type)\t\(row.bytes) bytes\t\(row.attempts) attempts\t"
            + "parked \(row.parkedAt.ISO8601Format())\t\(row.waiting) waiting\t\(row.lastError)\n"
        }.joined()
      case .republish(let ids):
        let count = try await OutboxParking.republish(client, ids: ids, logger: logger)
        return "\(count) row(s) handed back to the relay\n"
      case .replay(let from, let to):
        let count = try await OutboxParking.replay(client, sentFrom: from, to: to ?? Date(), logger: logger)
        return "\(count) sent row(s) will be published again\n"
      }
    }
  }

  struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
  }

  /// PostgreSQL's own words for a server error (e.g. a table not migrated yet), not the query dump.
  private static func describe(_ error: any Error) -> String {
    guard let psql = error as? PSQLError, let state = psql.serverInfo?[.sqlState] else { return "\(error)" }
    return "SQLSTATE \(state): \(psql.serverInfo?[.message] ?? "")"
  }

  private static func write(_ text: String, to handle: FileHandle) {
    handle.write(Data(text.utf8))
  }
}
