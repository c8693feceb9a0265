import CRMIdentity
import CRMTestSupport
import Foundation
import HummingbirdTesting
import ReportingService
import Testing

@Suite("Web edge: hostile input gets a precise 4xx, changes nothing and is shown escaped")
struct HostileInputTests {
  /// Sessions, failures and reviews: what a refused request must leave as it was.
  static func state(_ web: WebHarness) async throws -> [Int] {
    [
      try await web.count("SELECT count(*)::int FROM web_sessions"),
      try await web.count("SELECT coalesce(sum(failures), 0)::int FROM web_sign_in_failures"),
      try await web.qualityControlDatabase.count("SELECT count(*)::int FROM reviews"),
    ]
  }

  @Test func badSignInFormsAreRefusedNamingTheProblem() async throws {
    try await WebHarness.with { web in
      try await web.user("ivanov", name: "Иван Иванов", roles: [.manager], managerID: "m-17")
      let agent = WebAgent(web)
      let before = try await Self.state(web)
      // Each answer is the sign-in form again, with a new token: each case reads the last one.
      let cases: [((String) -> String, String?, Int, String)] = [
        ({ _ in String(repeating: "a", count: 9000) }, "application/x-www-form-urlencoded", 413, "больше 8192 байт"),
        ({ _ in "login=ivanov" }, "application/json", 415, "Ожидается форма"),
        ({ _ in "login=ivanov" }, nil, 415, "Ожидается форма"),
        (
          { token in "csrf=\(token)&login=ivanov&password=x&admin=1" }, "application/x-www-form-urlencoded", 400,
          "лишнее поле"
        ),
        (
          { token in "csrf=\(token)&login=a&login=b&password=x" }, "application/x-www-form-urlencoded", 400, "повторено"
        ),
        (
          { token in "csrf=\(token)&login=%E0%A4%A&password=x" }, "application/x-www-form-urlencoded", 400,
          "неверной кодировкой"
        ),
        ({ token in "csrf=\(token)&password=x" }, "application/x-www-form-urlencoded", 400, "нет поля «login»"),
        (
          { token in "csrf=\(token)&login=%3Cscript%3Ealert(1)%3C%2Fscript%3E&password=x" },
          "application/x-www-form-urlencoded",
          400, "Логин — от 1 до 64"
        ),
      ]
      var token = WebAgent.csrf(in: try await agent.get("/sign-in"))
      for (makeBody, type, status, message) in cases {
        let body = makeBody(token)
        let answer = try await agent.post("/sign-in", raw: body, contentType: type)
        token = WebAgent.csrf(in: answer)
        #expect(answer.status.code == status, "\(body.prefix(60))")
        #expect(answer.text.contains(message), "\(body.prefix(60)): \(answer.text.prefix(2000))")
        #expect(!answer.text.contains("<script>"))
      }
      #expect(try await Self.state(web) == before)
      #expect(agent.cookies["crm_session"] == nil)
    }
  }

  @Test func scriptInANameIsShownAsText() async throws {
    try await WebHarness.with { web in
      try await web.user(
        "hacker", name: "<script>alert('x')</script> & \"Ко\"", roles: [.manager], managerID: "m-66")
      let agent = WebAgent(web)
      try await agent.signIn("hacker")
      let page = try await agent.get("/dashboard")
      #expect(page.status == .ok)
      #expect(!page.text.contains("<script>"))
      #expect(page.text.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Ко&quot;"))
      #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
    }
  }

  @Test func badReviewFormsAreRefusedAndQualityControlKeepsNothing() async throws {
    try await WebHarness.with { web in
      try await web.defineRubric()
      try await web.deliver(WebHarness.item())
      try await web.user("reviewer-1", name: "Проверяющий", roles: [.qcReviewer])
      let agent = WebAgent(web)
      try await agent.signIn("reviewer-1")
      let token = WebAgent.csrf(in: try await agent.get("/review"))
      let item = try await agent.post("/review/next", [("csrf", token)])
      let itemID = try #require(WebAgent.hidden("item_id", in: item))
      let leaseID = try #require(WebAgent.hidden("lease_id", in: item))
      let before = try await Self.state(web)
      let base = [("csrf", token), ("item_id", itemID), ("lease_id", leaseID)]
      let cases: [([(String, String)], Int, String)] = [
        (base + [("score.greeting", "abc"), ("score.needs", "3")], 400, "целое число от 0 до 100"),
        (base + [("score.greeting", "-1"), ("score.needs", "3")], 400, "целое число от 0 до 100"),
        (base + [("score.<b>", "1")], 400, "критерий"),
        (base, 400, "ни одной оценки"),
        ([("csrf", token), ("item_id", "<script>"), ("lease_id", leaseID), ("score.greeting", "1")], 400, "item_id"),
        (base + [("score.greeting", "1"), ("extra", "1")], 400, "лишнее поле"),
        // Quality-control's own rules: a score past the scale, a missing criterion.
        (base + [("score.greeting", "5"), ("score.needs", "3")], 400, "Контроль качества не принял"),
        (base + [("score.greeting", "1")], 400, "Контроль качества не принял"),
        (
          [("item_id", itemID), ("lease_id", leaseID), ("score.greeting", "1"), ("score.needs", "1")], 403,
          "Форма устарела"
        ),
      ]
      for (fields, status, message) in cases {
        let answer = try await agent.post("/review/submit", fields)
        #expect(answer.status.code == status, "\(fields)")
        #expect(answer.text.contains(message), "\(fields): \(answer.text.prefix(3000))")
        #expect(!answer.text.contains("<script>") && !answer.text.contains("<b>"))
      }
      #expect(try await Self.state(web) == before)
    }
  }
}
