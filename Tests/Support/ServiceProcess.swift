import Foundation

/// A service executable as deployed, against the local PostgreSQL (in `schema` when given: a
/// process of its own outbox) and the given broker, started and ready.
public enum ServiceProcess {
  public struct NotReady: Error, CustomStringConvertible {
    public var description: String
  }

  /// Starts `service` (with `environment` added to its configuration) and returns once
  /// `/health/ready` answers 200; the caller stops it.
  public static func start(
    _ service: String, brokers: String, schema: String? = nil, environment: [String: String] = [:]
  ) async throws -> ChildProcess {
    let port = environment["CRM_HTTP_PORT"].flatMap { Int($0) } ?? freeLocalPort()
    let process = try ChildProcess(
      LocalStack.binDirectory.appendingPathComponent(service),
      environment: [
        "CRM_DATABASE_URL": LocalStack.databaseURL(service) + (schema.map { "&search_path=\($0)" } ?? ""),
        "CRM_KAFKA_BROKERS": brokers,
        "CRM_HTTP_PORT": "\(port)",
        "CRM_LOG_LEVEL": "warning",
      ].merging(TestIdentity.environment) { _, added in added }
        .merging(TestIdentity.reviewCodeEnvironment(service)) { _, added in added }
        .merging(environment) { _, added in added }
    )
    // Generous: on a loaded machine (the whole suite beside other builds) migrations alone took 39 s.
    let ready = try await HTTPProbe.waitForStatus("http://127.0.0.1:\(port)/health/ready", 200, within: .seconds(120))
    guard ready == 200 else {
      process.signal(SIGKILL)
      throw NotReady(description: "\(service) never became ready: \(process.standardError)")
    }
    return process
  }
}
