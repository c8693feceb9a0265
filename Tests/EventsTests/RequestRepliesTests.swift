import CRMDatabase
import CRMEvents
import CRMTestSupport
import Logging
import PostgresNIO
import Testing

@Suite("Replies of create-like requests")
struct RequestRepliesTests {
  static let logger = Logger(label: "request-replies-test")

  /// A correlation-id key goes after 15 minutes (its record can no longer run), a client's
  /// request id after a week; younger ones stay.
  @Test func pruningKeepsWhatARepeatCouldStillAskFor() async throws {
    try await TestSchema.with(database: "contacts") { makeClient in
      let client = makeClient()
      try await whileRunning(client) {
        try await MigrationRunner.apply(RequestReplies.migrations, on: client, logger: Self.logger)
        let rows: [(String, String)] = [
          ("c:fresh", "1 minute"), ("c:old", "20 minutes"), ("r:recent", "2 days"), ("r:old", "8 days"),
        ]
        for (key, age) in rows {
          _ = try await client.query(
            "INSERT INTO request_replies (key, reply, created_at) VALUES (\(key), '\\x01', now() - \(age)::interval)",
            logger: Self.logger
          ).collect()
        }
        #expect(try await RequestReplies.prune(client: client, logger: Self.logger) == 2)
        var left: [String] = []
        for try await key in try await client.query("SELECT key FROM request_replies ORDER BY key", logger: Self.logger)
          .decode(String.self)
        {
          left.append(key)
        }
        #expect(left == ["c:fresh", "r:recent"])
        #expect(try await RequestReplies.reply(key: "r:recent", client: client, logger: Self.logger) == [1])
      }
    }
  }
}
