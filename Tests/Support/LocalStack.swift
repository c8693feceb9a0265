import Foundation

/// The stack that `deploy/local/stack up` started: the same ports and names as its scripts.
public enum LocalStack {
  public static let environment = ProcessInfo.processInfo.environment
  public static var postgresPort: Int { Int(environment["CRM_PG_PORT"] ?? "") ?? 55432 }
  public static var kafkaPort: Int { Int(environment["CRM_KAFKA_PORT"] ?? "") ?? 19092 }
  public static var kafkaBrokers: String { "127.0.0.1:\(kafkaPort)" }

  /// `crm_<service>` with dashes as underscores: the database and its role.
  public static func databaseName(_ service: String) -> String {
    "crm_" + service.replacingOccurrences(of: "-", with: "_")
  }

  public static func databaseURL(_ service: String) -> String {
    let name = databaseName(service)
    return "postgres://\(name):\(name)_local@127.0.0.1:\(postgresPort)/\(name)?sslmode=disable"
  }

  /// The service's runtime role (`crm_<service>_app`, deploy/postgres/provision.sh): owns
  /// nothing, runs no DDL.
  public static func runtimeDatabaseURL(_ service: String) -> String {
    let name = databaseName(service)
    return "postgres://\(name)_app:\(name)_app_local@127.0.0.1:\(postgresPort)/\(name)?sslmode=disable"
  }

  /// The checkout's root, found from this file's place in it.
  public static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// The broker binary that `deploy/local/bootstrap` installed.
  public static var brokerBinary: URL { repositoryRoot.appendingPathComponent(".tools/bin/tansu") }

  /// Where `swift build` put the executables: `CRM_BIN_DIR`, else beside the test bundle.
  public static var binDirectory: URL {
    if let dir = environment["CRM_BIN_DIR"] { return URL(fileURLWithPath: dir) }
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var dir = executable.deletingLastPathComponent()
    while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("contacts").path) {
      dir = dir.deletingLastPathComponent()
    }
    return dir
  }
}
