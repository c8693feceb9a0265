import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@testable import ReportingService

@Suite("Web JSON API: hostile input answered with a 4xx naming the parameter")
struct APIHostileInputTests {
  @Test func badQueriesAreRefusedNamingTheParameter() async throws {
    try await APIHarness.with { api in
      try await api.user("head", roles: [.headOfSales])
      let token = try await api.token("head")
      let funnel = "/api/v1/reports/funnel?pipeline=\(api.seed.pipelineID)"
      let stalled = "/api/v1/reports/stalled-deals?days=7"
      let cases: [(String, HTTPResponse.Status, String)] = [
        ("/api/v1/reports/funnel", .badRequest, "pipeline"),
        (funnel + "&from=yesterday", .badRequest, "from"),
        (funnel + "&from=2026-02-30T00:00:00Z", .badRequest, "from"),
        (funnel + "&to=2026-01-01", .badRequest, "to"),
        (funnel + "&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", .badRequest, "to"),
        (funnel + "&from=1900-01-01T00:00:00Z", .badRequest, "from"),
        (funnel + "&kind=both", .badRequest, "kind"),
        (funnel + "&owner=Ivan%20Ivanov", .badRequest, "owner"),
        (funnel + "&source=", .badRequest, "source"),
        (funnel + "&source=%FF%FE", .badRequest, "source"),
        (funnel + "&source=%3Cscript%3Ealert(1)%3C%2Fscript%3E%00", .badRequest, "source"),
        (funnel + "&pipeline=again", .badRequest, "pipeline"),
        (funnel + "&owner_id=m-1", .badRequest, "owner_id"),
        ("/api/v1/reports/funnel?pipeline=no-such-pipeline", .notFound, "pipeline"),
        ("/api/v1/reports/losses?pipeline=no-such-pipeline", .notFound, "pipeline"),
        (stalled + "&stage=no-such-stage", .notFound, "stage"),
        ("/api/v1/reports/stalled-deals", .badRequest, "days"),
        ("/api/v1/reports/stalled-deals?days=abc", .badRequest, "days"),
        ("/api/v1/reports/stalled-deals?days=0", .badRequest, "days"),
        ("/api/v1/reports/stalled-deals?days=99999999999999999999", .badRequest, "days"),
        (stalled + "&pageSize=101", .badRequest, "pageSize"),
        (stalled + "&cursor=not%20a%20cursor", .badRequest, "cursor"),
        (stalled + "&cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", .badRequest, "cursor"),
        ("/api/v1/reports/forecast?currency=rub", .badRequest, "currency"),
        ("/api/v1/reports/forecast-backtest?months=37", .badRequest, "months"),
        ("/api/v1/reports/forecast-backtest", .badRequest, "months"),
        ("/api/v1/reports/quality-scores?bucket=year", .badRequest, "bucket"),
        ("/api/v1/reports/leaderboard?from=" + String(repeating: "9", count: 5_000), .uriTooLong, "query"),
      ]
      for (route, status, field) in cases {
        let response = try await api.get(route, token: token)
        #expect(response.status == status, "\(route.prefix(120)): \(response.text.prefix(300))")
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
        #expect(try response.json()?["field"] as? String == field, "\(route.prefix(120)): \(response.text.prefix(300))")
      }
    }
  }

  @Test func badTokenRequestsAreRefusedNamingTheField() async throws {
    try await APIHarness.with { api in
      try await api.user("head", roles: [.headOfSales])
      let cases: [(String, String?, HTTPResponse.Status, String)] = [
        ("not json", "application/json", .badRequest, "body"),
        ("[1, 2]", "application/json", .badRequest, "body"),
        (#"{"login": 5, "password": "x"}"#, "application/json", .badRequest, "login"),
        (#"{"login": "head"}"#, "application/json", .badRequest, "password"),
        (#"{"login": "head", "password": "x", "admin": true}"#, "application/json", .badRequest, "admin"),
        (#"{"login": "Head Of Sales", "password": "correct horse battery"}"#, "application/json", .badRequest, "login"),
        (
          #"{"login": "head", "password": "correct horse battery"}"#, "text/plain", .unsupportedMediaType,
          "Content-Type"
        ),
        (#"{"login": "head", "password": "correct horse battery"}"#, nil, .unsupportedMediaType, "Content-Type"),
        (
          #"{"login": "head", "password": "\#(String(repeating: "x", count: 5_000))"}"#, "application/json",
          .contentTooLarge, "body"
        ),
      ]
      for (body, type, status, field) in cases {
        let response = try await api.postToken(body, contentType: type)
        #expect(response.status == status, "\(body.prefix(80)): \(response.text)")
        #expect(try response.json()?["field"] as? String == field, "\(body.prefix(80)): \(response.text)")
      }
      #expect(try await api.count("SELECT count(*)::int FROM web_api_tokens") == 0)
      #expect(try await api.postToken(#"{"login": "head", "password": "correct horse battery"}"#).status == .created)
    }
  }

  @Test(arguments: [
    ("2026-01-31T09:30:00Z", 1_769_851_800.0), ("2026-01-31t09:30:00.250+03:00", 1_769_841_000.25),
    ("1970-01-01T00:00:00.5-00:30", 1_800.5),
  ])
  func instantsAreReadAsRFC3339Says(text: String, seconds: Double) throws {
    let date = try #require(RFC3339.date(text))
    #expect(abs(date.timeIntervalSince1970 - seconds) < 0.001)
  }

  @Test(arguments: [
    "2026-02-29T00:00:00Z", "2026-01-31T24:00:00Z", "2026-01-31T23:59:60Z", "2026-01-31 09:30:00Z",
    "2026-01-31T09:30:00", "2026-01-31T09:30:00+24:00", "10000-01-01T00:00:00Z", "",
  ])
  func malformedInstantsAreRefused(text: String) {
    #expect(RFC3339.date(text) == nil)
  }

  @Test func instantsAreWrittenInUTC() throws {
    #expect(RFC3339.string(Date(timeIntervalSince1970: 1_769_851_800)) == "2026-01-31T09:30:00Z")
    #expect(RFC3339.string(Date(timeIntervalSince1970: 1_769_851_800.25)) == "2026-01-31T09:30:00.250Z")
  }
}
