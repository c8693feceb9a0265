import CRMContracts
import CRMIdentity
import CRMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import Yams

@testable import ReportingService

@Suite("Web JSON API: the reports, who sees what, sign-in")
struct APIReportsTests {
  /// Every report's route with the parameters it needs.
  static func routes(_ seed: APISeed) -> [String] {
    [
      "/api/v1/reports/funnel?pipeline=\(seed.pipelineID)", "/api/v1/reports/lead-funnel",
      "/api/v1/reports/losses", "/api/v1/reports/stalled-deals?days=7&asOf=2026-03-01T00:00:00Z",
      "/api/v1/reports/forecast", "/api/v1/reports/forecast-backtest?months=2&asOf=2026-02-15T00:00:00Z",
      "/api/v1/reports/discipline", "/api/v1/reports/card-completeness", "/api/v1/reports/quality-scores",
      "/api/v1/reports/leaderboard",
    ]
  }

  @Test func theDocumentIsServedAndParsesWithAnOperationPerReport() async throws {
    try await APIHarness.with { api in
      let response = try await api.get("/openapi.yaml", token: nil)
      #expect(response.status == .ok)
      #expect(response.headers[.contentType]?.hasPrefix("application/yaml") == true)
      let document = try #require(try Yams.load(yaml: response.text) as? [String: Any])
      #expect((document["openapi"] as? String)?.hasPrefix("3.") == true)
      let paths = try #require(document["paths"] as? [String: [String: Any]])
      let operations = Set(
        paths.values.flatMap { $0.values.compactMap { ($0 as? [String: Any])?["operationId"] as? String } })
      #expect(operations == Set(APIQuery.operations.keys))
      for route in Self.routes(api.seed) {
        let path = String(route.dropFirst("/api/v1".count).prefix { $0 != "?" })
        #expect(paths[path]?["get"] != nil, "\(path) is in the document")
      }
    }
  }

  @Test func everyReportAnswersAHeadOfSalesWithTheFiguresOfTheRPC() async throws {
    try await APIHarness.with { api in
      try await api.user("head", roles: [.headOfSales])
      let token = try await api.token("head")
      let head = "head_of_sales:head"
      for route in Self.routes(api.seed) {
        let response = try await api.get(route, token: token)
        #expect(response.status == .ok, "\(route): \(response.text)")
        #expect(response.headers[.cacheControl] == "no-store")
      }
      // The funnel: the seeded figures, and the RPC's row for row.
      let funnel = try #require(try await api.get(Self.routes(api.seed)[0], token: token).json())
      let rows = try #require(funnel["rows"] as? [[String: Any]])
      let rpc = try await api.rpc("GetFunnel", as: head) { service, context in
        try await service.getFunnel(request: .with { $0.pipelineID = api.seed.pipelineID }, context: context)
      }
      #expect(rows.count == rpc.rows.count)
      for (row, expected) in zip(rows, rpc.rows) {
        #expect(row["stageId"] as? String == expected.stageID)
        #expect(row["ownerId"] as? String == (expected.team ? nil : expected.ownerID))
        for (key, value) in [
          ("entered", expected.entered), ("advanced", expected.advanced), ("lost", expected.lost),
          ("won", expected.won), ("open", expected.open), ("skipped", expected.skipped),
        ] {
          #expect((row[key] as? NSNumber)?.int64Value == value, "\(key) of \(expected.stageID) \(expected.ownerID)")
        }
      }
      let team = rows.filter { $0["team"] as? Bool == true }
      // Four deals stood at stage 1: two moved on, one was lost there, one is open there.
      #expect(team.map { ($0["entered"] as? NSNumber)?.intValue } == [4, 2, 1])
      #expect(team.map { ($0["won"] as? NSNumber)?.intValue } == [0, 0, 1])
      #expect(Set(rows.compactMap { $0["ownerId"] as? String }) == ["m-1", "m-2"])

      let losses = try #require(try await api.get("/api/v1/reports/losses", token: token).json())
      let rpcLosses = try await api.rpc("GetLosses", as: head) { try await $0.getLosses(request: .init(), context: $1) }
      #expect((losses["lost"] as? NSNumber)?.int64Value == rpcLosses.lost)
      #expect(rpcLosses.lost == 2 && rpcLosses.real == 1 && rpcLosses.stall == 1)
      #expect((losses["stall"] as? NSNumber)?.int64Value == 1)

      let leads = try #require(try await api.get("/api/v1/reports/lead-funnel", token: token).json())
      let leadTeam = try #require((leads["rows"] as? [[String: Any]])?.first { $0["team"] as? Bool == true })
      #expect((leadTeam["converted"] as? NSNumber)?.intValue == 1)
      #expect((leadTeam["rejected"] as? NSNumber)?.intValue == 1)

      let stalled = try #require(try await api.get(Self.routes(api.seed)[3], token: token).json())
      let stalledDeals = try #require(stalled["deals"] as? [[String: Any]])
      let rpcStalled = try await api.rpc("GetStalledDeals", as: head) { service, context in
        try await service.getStalledDeals(
          request: .with {
            $0.days = 7
            $0.asOf = .init(date: RFC3339.date("2026-03-01T00:00:00Z")!)
          }, context: context)
      }
      #expect(stalledDeals.map { $0["dealId"] as? String } == rpcStalled.deals.map(\.dealID))
      #expect(stalledDeals.count == 1 && stalledDeals.first?["ownerId"] as? String == "m-2")

      let forecast = try #require(try await api.get("/api/v1/reports/forecast", token: token).json())
      let rpcForecast = try await api.rpc("GetForecast", as: head) {
        try await $0.getForecast(request: .init(), context: $1)
      }
      #expect(
        (forecast["rows"] as? [[String: Any]])?.map { ($0["rawMinor"] as? NSNumber)?.int64Value }
          == rpcForecast.rows.map(\.rawMinor))

      let discipline = try #require(try await api.get("/api/v1/reports/discipline", token: token).json())
      let violations = (discipline["managers"] as? [[String: Any]])?.map {
        (($0["counts"] as? [String: Any])?["violations"] as? NSNumber)?.intValue
      }
      #expect(violations == [5, 1, 4])

      let cards = try #require(try await api.get("/api/v1/reports/card-completeness", token: token).json())
      #expect((cards["managers"] as? [[String: Any]])?.compactMap { $0["managerId"] as? String } == ["m-1", "m-2"])

      let quality = try #require(try await api.get("/api/v1/reports/quality-scores", token: token).json())
      let m1 = try #require((quality["reps"] as? [[String: Any]])?.first { $0["managerId"] as? String == "m-1" })
      #expect((m1["meanScore"] as? NSNumber)?.doubleValue == 80)

      let board = try #require(try await api.get("/api/v1/reports/leaderboard", token: token).json())
      let rpcBoard = try await api.rpc("GetLeaderboard", as: head) {
        try await $0.getLeaderboard(request: .init(), context: $1)
      }
      #expect(
        (board["entries"] as? [[String: Any]])?.map { $0["managerId"] as? String }
          == rpcBoard.entries.map { $0.team ? nil : $0.managerID })
      #expect(board["currency"] as? String == "RUB")
    }
  }

  @Test func aManagerSeesHisOwnRowsAndTheTeamsAndIsRefusedAnothers() async throws {
    try await APIHarness.with { api in
      try await api.user("ivanov", roles: [.manager], managerID: "m-1")
      let token = try await api.token("ivanov")
      let funnel = "/api/v1/reports/funnel?pipeline=\(api.seed.pipelineID)"
      let own = try #require(try await api.get(funnel, token: token).json())
      let owners = Set((own["rows"] as? [[String: Any]] ?? []).compactMap { $0["ownerId"] as? String })
      #expect(owners == ["m-1"])
      #expect(try await api.get(funnel + "&owner=m-1", token: token).status == .ok)
      for route in [
        funnel + "&owner=m-2", "/api/v1/reports/losses?owner=m-2", "/api/v1/reports/discipline?owner=m-2",
        "/api/v1/reports/card-completeness?owner=m-2", "/api/v1/reports/quality-scores?owner=m-2",
        "/api/v1/reports/lead-funnel?owner=m-2", "/api/v1/reports/stalled-deals?days=1&owner=m-2",
      ] {
        let refused = try await api.get(route, token: token)
        #expect(refused.status == .forbidden, "\(route)")
        #expect(try refused.json()?["field"] as? String == "owner")
      }
      for route in Self.routes(api.seed) {
        let text = try await api.get(route, token: token).text
        #expect(!text.contains("\"m-2\""), "\(route) shows nothing of m-2")
      }
    }
  }

  @Test func aReviewerIsRefusedEveryReportAndLearnsNoName() async throws {
    try await APIHarness.with { api in
      try await api.user("r-anna", roles: [.qcReviewer])
      let token = try await api.token("r-anna")
      for route in Self.routes(api.seed) + ["/api/v1/reports/funnel?pipeline=no-such-pipeline"] {
        let response = try await api.get(route, token: token)
        #expect(response.status == .forbidden, "\(route)")
        for canary in ["m-1", "m-2", "Обучение", "Этап", api.seed.pipelineID, "Имя"] {
          #expect(!response.everything.contains(canary), "\(route) shows \(canary)")
        }
      }
    }
  }

  @Test func withoutALiveCredentialEveryRouteIs401() async throws {
    try await APIHarness.with { api in
      try await api.user("head", roles: [.headOfSales])
      let revoked = try await api.token("head")
      var headers = HTTPFields()
      headers[.authorization] = "Bearer \(revoked)"
      let revoke = try await api.client.execute(
        uri: "/api/v1/tokens/current", method: .delete, headers: headers, body: nil)
      #expect(revoke.status == .noContent)
      let changed = try await api.token("head")
      // A change of the user (new roles or password) ends his tokens, as it ends his sessions.
      try await api.user("head", roles: [.headOfSales])
      for route in Self.routes(api.seed) {
        for token in [nil, revoked, changed, "not-a-token", String(repeating: "A", count: 43)] {
          let response = try await api.get(route, token: token)
          #expect(response.status == .unauthorized, "\(route) with \(token ?? "none")")
          #expect(response.headers[.wwwAuthenticate] == "Bearer realm=\"crm\"")
          #expect(try response.json()?["message"] != nil)
        }
      }
      #expect(try await api.count("SELECT count(*)::int FROM web_api_tokens") == 1)
    }
  }

  @Test func tokensAreSlowedByTheSignInThrottle() async throws {
    try await APIHarness.with { api in
      try await api.user("sidorov", roles: [.headOfSales])
      for _ in 0..<SignInThrottle.perLogin.threshold {
        let wrong = try await api.postToken(#"{"login": "sidorov", "password": "not the password"}"#)
        #expect(wrong.status == .unauthorized)
      }
      let locked = try await api.postToken(#"{"login": "sidorov", "password": "\#(WebHarness.password)"}"#)
      #expect(locked.status == .tooManyRequests)
      #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 >= 1)
      #expect(try await api.count("SELECT count(*)::int FROM web_api_tokens") == 0)
    }
  }

  @Test func theSessionCookieReadsReportsAndNeedsItsCSRFTokenToEndItself() async throws {
    try await APIHarness.with { api in
      try await api.user("head", roles: [.headOfSales])
      let id = SessionTokens.random()
      let csrf = SessionTokens.random()
      try await api.store.createSession(id: id, login: "head", csrfToken: csrf, lifetime: .seconds(600))
      var cookie = HTTPFields()
      cookie[.cookie] = "crm_session=\(id)"
      #expect(try await api.get("/api/v1/reports/leaderboard", token: nil, headers: cookie).status == .ok)
      let unsigned = try await api.client.execute(
        uri: "/api/v1/tokens/current", method: .delete, headers: cookie, body: nil)
      #expect(unsigned.status == .forbidden)
      #expect(try unsigned.json()?["field"] as? String == "X-CSRF-Token")
      var signed = cookie
      signed[APIGuard.csrfHeader] = csrf
      let ended = try await api.client.execute(
        uri: "/api/v1/tokens/current", method: .delete, headers: signed, body: nil)
      #expect(ended.status == .noContent)
      #expect(try await api.get("/api/v1/reports/leaderboard", token: nil, headers: cookie).status == .unauthorized)
    }
  }
}

extension APIHarness {
  func count(_ query: PostgresQuery) async throws -> Int { try await database.count(query) }
}
