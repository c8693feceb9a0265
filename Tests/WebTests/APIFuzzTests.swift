import CRMTestSupport
import Foundation
import Testing

/// schemathesis (PyPI, installed by deploy/local/bootstrap into .tools/schemathesis) against the
/// served document, signed in with a head of sales's bearer token: a bounded number of examples
/// per operation, positive and negative; any 5xx, any status the document does not list, any body
/// outside its schema fails the test.
@Suite("Web JSON API: schemathesis finds no server error and no schema violation")
struct APIFuzzTests {
  static var schemathesis: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent(".tools/schemathesis/bin/schemathesis").path
  }

  @Test(.timeLimit(.minutes(5)))
  func theFuzzRunFindsNothing() async throws {
    try #require(
      FileManager.default.isExecutableFile(atPath: Self.schemathesis),
      "schemathesis is not installed: run deploy/local/bootstrap")
    try await APIHarness.with { api in
      try await api.user("head", roles: [.headOfSales])
      let token = try await api.token("head")
      let reports = FileManager.default.temporaryDirectory.appendingPathComponent("crm-schemathesis-\(UUID())")
      defer { try? FileManager.default.removeItem(at: reports) }
      let process = Process()
      process.executableURL = URL(fileURLWithPath: Self.schemathesis)
      // Its own folder for its cache and reports, gone afterwards.
      try FileManager.default.createDirectory(at: reports, withIntermediateDirectories: true)
      process.currentDirectoryURL = reports
      // The seeded pipeline, so that the funnel's runs reach past its 404 for unknown pipelines.
      let config = reports.appendingPathComponent("schemathesis.toml")
      try "[parameters]\n\"query.pipeline\" = \"\(api.seed.pipelineID)\"\n".write(
        to: config, atomically: true, encoding: .utf8)
      process.arguments = [
        "--config-file", config.path, "run", "http://127.0.0.1:\(api.port)/openapi.yaml",
        "--header", "Authorization: Bearer \(token)",
        "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
        "--max-examples", "25", "--seed", "17", "--workers", "1", "--phases", "examples,coverage,fuzzing",
        // Revoking would end the run's own token; it is tested by APIReportsTests.
        "--exclude-operation-id", "revokeToken",
        "--request-timeout", "10", "--report-dir", reports.path,
        "--suppress-health-check", "all", "--output-truncate", "true",
      ]
      var environment = ProcessInfo.processInfo.environment
      environment["SCHEMATHESIS_HOOKS"] = nil
      environment["NO_COLOR"] = "1"
      process.environment = environment
      let output = Pipe()
      process.standardOutput = output
      process.standardError = output
      try process.run()
      let text = await Task.detached {
        String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      }.value
      process.waitUntilExit()
      #expect(process.terminationStatus == 0, "schemathesis found something:\n\(text.suffix(6_000))")
      // It ran: every phase asked, hundreds of cases sent (a run that tested nothing passes too).
      let generated = text.firstMatch(of: /(\d+) generated/).flatMap { Int($0.1) } ?? 0
      #expect(generated >= 200, "\(text.suffix(3_000))")
      #expect(!text.contains("Runtime Error"), "\(text.suffix(6_000))")
      print(text.split(separator: "\n").suffix(20).joined(separator: "\n"))
    }
  }
}
