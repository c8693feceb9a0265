import CRMDatabase
import CRMTestSupport
import Logging
import PostgresNIO
import Testing

/// A service's session settings reach every connection of its pool, beside the schema.
@Suite("Session settings")
struct SessionSettingsTests {
  @Test func settingsHoldInEverySessionBesideTheSearchPath() async throws {
    try await TestSchema.with(
      database: "contacts", sessionSettings: ["plan_cache_mode": "force_generic_plan", "work_mem": "8MB"]
    ) { makeClient, schema in
      let client = makeClient()
      try await whileRunning(client) {
        // Several sessions at once: each was set up when it started.
        try await withThrowingTaskGroup(of: [String].self) { group in
          for _ in 0..<4 {
            group.addTask {
              try await client.withConnection { connection in
                var values: [String] = []
                for name in ["plan_cache_mode", "work_mem", "search_path"] {
                  let rows = try await connection.query(
                    PostgresQuery(unsafeSQL: "SHOW \(name)"), logger: Logger(label: "session-settings-test"))
                  for try await value in rows.decode(String.self) { values.append(value) }
                }
                try await Task.sleep(for: .milliseconds(50))  // keep it leased: the others open their own
                return values
              }
            }
          }
          for try await values in group { #expect(values == ["force_generic_plan", "8MB", schema]) }
        }
      }
    }
  }

  @Test func aSettingAppliedTwiceKeepsTheLastValue() throws {
    var configuration = try DatabaseURL.parse("postgres://u@localhost/db?search_path=s1")
    configuration.apply(sessionSettings: ["work_mem": "4MB"])
    configuration.apply(sessionSettings: ["work_mem": "8MB", "search_path": "s2"])
    let parameters = configuration.options.additionalStartupParameters
    #expect(parameters.map(\.0).sorted() == ["search_path", "work_mem"])
    #expect(parameters.first { $0.0 == "work_mem" }?.1 == "8MB")
    #expect(parameters.first { $0.0 == "search_path" }?.1 == "s2")
  }
}
