import CRMContracts
import CRMDatabase
import CRMDomain
import CRMRuntime
import CRMTestSupport
import GRPCCore
import Logging
import PostgresNIO
import Testing

@Suite("Input hygiene and database failures as statuses")
struct InputHygieneTests {
  @Test func textsRefuseControlAndBidiCharactersAndCountBytes() throws {
    #expect(try Text.field("  Анна Петрова ", "name", limit: 10 + 3) == "Анна Петрова")
    for bad in [
      "a\u{0}b", "a\nb", "a\tb", "a\u{7F}b", "a\u{85}b", "a\u{202E}b", "a\u{2067}b", "a\u{200F}b", "a\u{2028}b",
      "a\u{200B}b", "a\u{FEFF}b", "a\u{E0041}b", "a\u{FFFE}b", "a\rb",
    ] {
      #expect(throws: InvalidField.self) { try Text.field(bad, "name", limit: 100) }
    }
    #expect(try Text.field("строка\n\tвторая", "notes", limit: 100, multiline: true) == "строка\n\tвторая")
    #expect(try Text.field("строка\r\nвторая", "notes", limit: 100, multiline: true) == "строка\nвторая")
    #expect(throws: InvalidField.self) { try Text.field("a\rb", "notes", limit: 100, multiline: true) }
    // Joiners stay: they hold emoji sequences and some scripts together.
    #expect(try Text.field("👩\u{200D}💻", "name", limit: 10) == "👩\u{200D}💻")
    #expect(throws: InvalidField.self) { try Text.field("a\u{0}", "notes", limit: 100, multiline: true) }
    // One character with a thousand combining marks: 1 character, 2,001 bytes.
    let stacked = "a" + String(repeating: "\u{0301}", count: 1_000)
    #expect(stacked.count == 1)
    do {
      _ = try Text.field(stacked, "name", limit: 200)
      Issue.record("accepted \(stacked.utf8.count) bytes")
    } catch {
      #expect(error.field == "name")
      #expect(error.reason.contains("bytes"))
    }
    #expect(Text.quoted(String(repeating: "x", count: 1_000)).count < 80)
    #expect(Text.quoted("a\u{0}b") == "\"a\\u{0}b\"")
  }

  @Test func pageTokensAreSealedAndScoped() throws {
    let key = PageTokenKey(secret: Array("a test secret of some length".utf8))
    let issued = try Page(.with { $0.pageSize = 10 }, scope: "ListThings", key: key).token(Int64.max)
    let read = try Page(
      .with {
        $0.pageSize = 10
        $0.pageToken = issued
      }, scope: "ListThings", key: key)
    #expect(read.cursor == Int64.max)
    for (token, scope, sealer) in [
      (issued, "ListOthers", key), (issued, "ListThings", PageTokenKey(secret: Array("another secret, as long".utf8))),
      ("YzpAOTIyMzM3MjAzNjg1NDc3NTgwNw", "ListThings", key), (String(repeating: "A", count: 10_000), "ListThings", key),
    ] {
      #expect(throws: InvalidField.self) {
        _ = try Page(
          .with {
            $0.pageSize = 10
            $0.pageToken = token
          }, scope: scope, key: sealer)
      }
    }
  }

  @Test func twoPartPageTokensAreSealedAndScopedAndKeepBothParts() throws {
    let key = PageTokenKey(secret: Array("a test secret of some length".utf8))
    func page(_ token: String, scope: String = "ListThings") throws -> Page {
      try Page(
        .with {
          $0.pageSize = 10
          $0.pageToken = token
        }, scope: scope, key: key)
    }
    let issuer = try page("")
    let issued = issuer.token(key: -1_700_000_000_000_001, seq: Int64.max)
    #expect(issued.utf8.count <= 64)
    let read = try page(issued)
    #expect(read.keyset == Page.Keyset(key: -1_700_000_000_000_001, seq: Int64.max) && read.cursor == nil)
    // A one-part token still reads as before.
    let single = try page(issuer.token(42))
    #expect(single.cursor == 42 && single.keyset == nil)
    #expect(throws: InvalidField.self) { _ = try page(issued, scope: "ListOthers") }
    #expect(throws: InvalidField.self) { _ = try page(issuer.token(key: 1, seq: -1)) }
    // One changed character of the sealed body is refused.
    var forged = Array(issued)
    forged[3] = forged[3] == "A" ? "B" : "A"
    #expect(throws: InvalidField.self) { _ = try page(String(forged)) }
  }

  /// SQLSTATEs raised by the real database: serialization failure and deadlock are ABORTED
  /// (try again), a data exception INVALID_ARGUMENT, anything else stays internal.
  @Test func databaseFailuresBecomeTheirStatus() async throws {
    let logger = Logger(label: "hygiene-test")
    let client = PostgresClient(
      configuration: try DatabaseURL.parse(LocalStack.databaseURL("contacts")), backgroundLogger: logger)
    try await whileRunning(client) {
      func status(raising state: String) async -> RPCError.Code? {
        do {
          _ = try await client.query(
            PostgresQuery(unsafeSQL: "DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '\(state)'; END $$"),
            logger: logger
          ).collect()
          return nil
        } catch {
          return RPCError(domain: error)?.code
        }
      }
      #expect(await status(raising: "40001") == .aborted)
      #expect(await status(raising: "40P01") == .aborted)
      #expect(await status(raising: "22021") == .invalidArgument)
      #expect(await status(raising: "XX000") == nil)
    }
  }
}
