import CRMDatabase
import CRMTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// Each service executable as an operator runs it: real processes, real database, real broker.
@Suite("Service executables")
struct ExecutableLifecycleTests {
  static let executables = ["contacts", "deals", "activity", "quality-control", "reporting"]

  func start(_ name: String, _ environment: [String: String]) throws -> ChildProcess {
    try ChildProcess(LocalStack.binDirectory.appendingPathComponent(name), environment: environment)
  }

  @Test(arguments: executables)
  func readyThenNotReadyWithoutBrokerThenGracefulExit(_ name: String) async throws {
    let broker = try await PrivateBroker()
    let port = freeLocalPort()
    let service = try start(
      name,
      [
        "CRM_DATABASE_URL": LocalStack.databaseURL(name),
        "CRM_KAFKA_BROKERS": broker.brokers,
        "CRM_TOKEN_VERIFY_KEYS_FILE": TestIdentity.publicKeyFile,
        // The activity service calls contacts (birthdays) as itself.
        "CRM_SERVICE_SIGNING_KEY_FILE": TestIdentity.privateKeyFile,
        "CRM_HTTP_PORT": "\(port)",
        "CRM_LOG_LEVEL": "warning",
      ].merging(TestIdentity.reviewCodeEnvironment(name)) { _, added in added }
    )
    let ready = "http://127.0.0.1:\(port)/health/ready"
    let readyStatus = try await HTTPProbe.waitForStatus(ready, 200, within: .seconds(30))
    #expect(readyStatus == 200, "\(name) never became ready: \(service.standardError)")
    #expect(await HTTPProbe.status("http://127.0.0.1:\(port)/health/live") == 200)
    #expect(await HTTPProbe.status("http://127.0.0.1:\(port)/metrics") == 200)
    // Ready means migrated: the outbox and inbox tables are in the service's own database.
    let database = PostgresClient(
      configuration: try DatabaseURL.parse(LocalStack.databaseURL(name)), backgroundLogger: Logger(label: "test"))
    let versions = try await whileRunning(database) {
      try await values(database, "SELECT version FROM schema_migrations WHERE version >= 10000", as: Int.self)
    }
    #expect(Set(versions).isSuperset(of: [10_001, 10_002]), "\(name) applied \(versions)")

    try await broker.kill()
    #expect(try await HTTPProbe.waitForStatus(ready, 503, within: .seconds(15)) == 503)
    #expect(await HTTPProbe.status("http://127.0.0.1:\(port)/health/live") == 200)

    let signalled = ContinuousClock.now
    service.signal(SIGTERM)
    let exitCode = try await service.waitForExit(within: .seconds(5))
    #expect(exitCode == 0, "\(name) after SIGTERM: exit \(String(describing: exitCode)), \(service.standardError)")
    #expect(ContinuousClock.now - signalled < .seconds(5))
  }

  struct BadStart: Sendable, CustomTestStringConvertible {
    var executable: String
    var variable: String
    var value: String?
    var testDescription: String { "\(executable) with \(variable)=\(value ?? "<unset>")" }
  }

  static let badStarts: [BadStart] = executables.flatMap { name in
    [
      BadStart(executable: name, variable: "CRM_DATABASE_URL", value: nil),
      BadStart(executable: name, variable: "CRM_KAFKA_BROKERS", value: "no-port-here"),
      BadStart(executable: name, variable: "CRM_HTTP_PORT", value: "eighty"),
      BadStart(executable: name, variable: "CRM_TOKEN_VERIFY_KEYS_FILE", value: "/nonexistent/keys.pem"),
    ]
  }

  /// The activity service's end-of-day settings, read when it is built.
  static let activityBadStarts: [BadStart] = [
    BadStart(executable: "activity", variable: "CRM_HOLIDAYS", value: "2026-01-01,2026-02-30"),
    BadStart(executable: "activity", variable: "CRM_WORKING_DAYS", value: "2026-01-10..2026-01-01"),
    BadStart(executable: "activity", variable: "CRM_END_OF_DAY", value: "7pm"),
    BadStart(executable: "activity", variable: "CRM_END_OF_DAY", value: "00:00"),
    BadStart(executable: "activity", variable: "CRM_COMPANY_TIME_ZONE", value: "Moscow"),
    // The review code key (issue 15): required, and a short one is refused.
    BadStart(executable: "activity", variable: "CRM_QC_CODE_KEY", value: nil),
    BadStart(executable: "activity", variable: "CRM_QC_CODE_KEY", value: "too-short-a-key"),
    // Reporting maps the codes back with the same key (issue 16 item 7).
    BadStart(executable: "reporting", variable: "CRM_QC_CODE_KEY", value: nil),
    BadStart(executable: "reporting", variable: "CRM_QC_CODE_KEY", value: "too-short-a-key"),
  ]

  /// The activity service's mail server and birthday run (which calls contacts as itself).
  static let activityMailBadStarts: [BadStart] = [
    BadStart(executable: "activity", variable: "CRM_SMTP_URL", value: "http://mail.example.com"),
    BadStart(executable: "activity", variable: "CRM_BIRTHDAY_TIME", value: "9am"),
    BadStart(executable: "activity", variable: "CRM_SERVICE_SIGNING_KEY_FILE", value: nil),
  ]

  @Test(arguments: badStarts + activityBadStarts + activityMailBadStarts)
  func configurationErrorExitsWithCode2NamingTheVariable(_ bad: BadStart) async throws {
    let port = freeLocalPort()
    var environment = [
      "CRM_DATABASE_URL": LocalStack.databaseURL(bad.executable),
      "CRM_KAFKA_BROKERS": LocalStack.kafkaBrokers,
      "CRM_HTTP_PORT": "\(port)",
      "CRM_TOKEN_VERIFY_KEYS_FILE": TestIdentity.publicKeyFile,
      // The activity service calls contacts (birthdays) as itself.
      "CRM_SERVICE_SIGNING_KEY_FILE": TestIdentity.privateKeyFile,
    ].merging(TestIdentity.reviewCodeEnvironment(bad.executable)) { _, added in added }
    environment[bad.variable] = bad.value
    let service = try start(bad.executable, environment)
    let exitCode = try await service.waitForExit(within: .seconds(10))
    #expect(exitCode == 2)
    #expect(service.standardError.contains(bad.variable), "stderr: \(service.standardError)")
    #expect(service.standardError.contains("expected"), "stderr: \(service.standardError)")
    // Nothing started: the HTTP port was never opened.
    #expect(await HTTPProbe.status("http://127.0.0.1:\(port)/health/live") == nil)
  }
}
