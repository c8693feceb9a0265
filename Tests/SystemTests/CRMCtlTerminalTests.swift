import CRMTestSupport
import Foundation
import Testing

/// `crmctl` typed in a terminal (a pseudo-terminal from `script`), against a deals process.
@Suite("crmctl in a terminal")
struct CRMCtlTerminalTests {
  @Test func methodWithoutRequiredFieldsNeedsNoRequestAndOneWithThemSaysWhatToGive() async throws {
    try await TestSchema.with(database: "deals") { _, schema in
      let broker = try await PrivateBroker()
      let deals = try await ServiceProcess.start("deals", brokers: broker.brokers, schema: schema)
      defer { deals.signal(SIGKILL) }
      let line = "tty-\(UUID().uuidString.prefix(8).lowercased())"
      let define = try crmctl(
        ["deals", "DefinePipeline", "--brokers", broker.brokers, "--json", Self.pipeline(line)], terminal: false)
      #expect(try await define.waitForExit(within: .seconds(30)) == 0, "\(define.standardError)")

      let list = try crmctl(["deals", "ListPipelines", "--brokers", broker.brokers], terminal: true)
      #expect(try await list.waitForExit(within: .seconds(30)) == 0, "\(list.standardOutput)")
      #expect(list.standardOutput.contains(line), "\(list.standardOutput)")

      // A method that needs fields: the service's INVALID_ARGUMENT, and how to give them.
      let bare = try crmctl(["deals", "DefinePipeline", "--brokers", broker.brokers], terminal: true)
      #expect(try await bare.waitForExit(within: .seconds(30)) == 3, "\(bare.standardOutput)")
      #expect(bare.standardOutput.contains("error: invalidArgument (3)"), "\(bare.standardOutput)")
      #expect(bare.standardOutput.contains("hint: no request was given"), "\(bare.standardOutput)")
      #expect(bare.standardOutput.contains("--json"), "\(bare.standardOutput)")

      // A create repeated with the same --request-id answers its first result; without one, the
      // repeat is a second request (refused: one pipeline per business line).
      let other = "rid-\(UUID().uuidString.prefix(8).lowercased())"
      var replies: [String] = []
      for _ in 0..<2 {
        let once = try crmctl(
          [
            "deals", "DefinePipeline", "--brokers", broker.brokers, "--request-id", other, "--json",
            Self.pipeline(other),
          ],
          terminal: false)
        #expect(try await once.waitForExit(within: .seconds(30)) == 0, "\(once.standardError)")
        replies.append(once.standardOutput)
      }
      #expect(replies[0] == replies[1] && replies[0].contains(other), "\(replies)")
      let again = try crmctl(
        ["deals", "DefinePipeline", "--brokers", broker.brokers, "--json", Self.pipeline(other)], terminal: false)
      #expect(try await again.waitForExit(within: .seconds(30)) == 9, "\(again.standardError)")
    }
  }

  static func pipeline(_ businessLine: String) -> String {
    """
    {"businessLine": "\(businessLine)", "name": "Terminal test", "stages": [
      {"name": "First contact", "result": "needs known", "defaultProbability": 10},
      {"name": "Contract", "result": "contract signed", "defaultProbability": 80}],
      "lossReasons": ["Price too high"]}
    """
  }

  /// crmctl with `arguments`; in a pseudo-terminal (its standard input, output and error) when
  /// `terminal`, whose output is then the process's standard output.
  func crmctl(_ arguments: [String], terminal: Bool) throws -> ChildProcess {
    let executable = LocalStack.binDirectory.appendingPathComponent("crmctl")
    let environment = ["PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "TERM": "dumb"].merging(
      TestIdentity.crmctlEnvironment
    ) { $1 }
    guard terminal else { return try ChildProcess(executable, arguments: arguments, environment: environment) }
    let command = ([executable.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    return try ChildProcess(
      URL(fileURLWithPath: "/usr/bin/script"),
      // --return: script exits with crmctl's exit code.
      arguments: ["--quiet", "--return", "--command", command.joined(separator: " "), "/dev/null"],
      environment: environment
    )
  }
}
