import CRMIdentity
import CRMTestSupport
import Foundation
import HummingbirdTesting
import ReportingService
import Testing

@Suite("Web edge: sign-in, sessions, CSRF")
struct SignInTests {
  @Test func aManagerSignsInAndSeesHisDashboard() async throws {
    try await WebHarness.with { web in
      try await web.user("ivanov", name: "Иван Иванов", roles: [.manager], managerID: "m-17")
      let agent = WebAgent(web)
      let answer = try await agent.signIn("ivanov")
      #expect(answer.status == .seeOther)
      #expect(answer.headers[.location] == "/dashboard")
      let dashboard = try await agent.get("/dashboard")
      #expect(dashboard.status == .ok)
      #expect(dashboard.text.contains("Иван Иванов"))
      #expect(dashboard.text.contains("нет данных за период"), "no history yet: the empty state is written out")
      #expect(try await web.count("SELECT count(*)::int FROM web_sessions WHERE login = 'ivanov'") == 1)
    }
  }

  @Test func aWrongPasswordIsRefusedWithTheFormAgain() async throws {
    try await WebHarness.with { web in
      try await web.user("petrov", name: "Пётр Петров", roles: [.manager], managerID: "m-18")
      let agent = WebAgent(web)
      let answer = try await agent.signIn("petrov", password: "wrong password!")
      #expect(answer.status == .unauthorized)
      #expect(answer.text.contains("Неверный логин или пароль"))
      #expect(answer.text.contains("name=\"password\""))
      #expect(agent.cookies["crm_session"] == nil)
      // An unknown login answers exactly the same.
      let unknown = try await agent.signIn("nobody", password: "wrong password!")
      #expect(unknown.status == .unauthorized)
      #expect(try await web.count("SELECT count(*)::int FROM web_sessions") == 0)
    }
  }

  @Test func repeatedFailuresLockTheLoginEvenForTheRightPassword() async throws {
    try await WebHarness.with { web in
      try await web.user("sidorov", name: "Сидор Сидоров", roles: [.headOfSales])
      let agent = WebAgent(web)
      for _ in 0..<SignInThrottle.perLogin.threshold {
        #expect(try await agent.signIn("sidorov", password: "not the password").status == .unauthorized)
      }
      let locked = try await agent.signIn("sidorov")
      #expect(locked.status == .tooManyRequests)
      #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 >= 1)
      #expect(locked.text.contains("Слишком много неудачных попыток"))
      #expect(agent.cookies["crm_session"] == nil)
      // Another login from the same address is not locked by his failures.
      try await web.user("kozlov", name: "Козлов", roles: [.headOfSales])
      #expect(try await agent.signIn("kozlov").status == .seeOther)
    }
  }

  @Test func theLockDoublesAndIsCapped() {
    let throttle = SignInThrottle.perLogin
    #expect((1..<throttle.threshold).allSatisfy { throttle.lockSeconds(afterFailures: $0) == 0 })
    #expect(throttle.lockSeconds(afterFailures: throttle.threshold) == 30)
    #expect(throttle.lockSeconds(afterFailures: throttle.threshold + 3) == 240)
    #expect(throttle.lockSeconds(afterFailures: throttle.threshold + 40) == throttle.capSeconds)
  }

  @Test(arguments: [false, true])
  func theSessionCookieIsHttpOnlyStrictAndExpiring(secure: Bool) async throws {
    try await WebHarness.with(secureCookies: secure) { web in
      try await web.user("reviewer-1", name: "Проверяющий", roles: [.qcReviewer])
      let answer = try await WebAgent(web).signIn("reviewer-1")
      let cookie = try #require(answer.headers[values: .setCookie].first { $0.hasPrefix("crm_session=") })
      let attributes = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
      #expect(attributes.contains("HttpOnly"))
      #expect(attributes.contains("SameSite=Strict"))
      #expect(attributes.contains("Path=/"))
      #expect(attributes.contains("Max-Age=\(8 * 3600)"))
      #expect(attributes.contains("Secure") == secure)
      // The server keeps only a hash of the id.
      let id = String(cookie.dropFirst("crm_session=".count).prefix { $0 != ";" })
      #expect(try await web.count("SELECT count(*)::int FROM web_sessions WHERE id_hash = \(id)") == 0)
      #expect(
        try await web.count(
          "SELECT count(*)::int FROM web_sessions WHERE id_hash = \(SessionTokens.hash(id))") == 1)
    }
  }

  @Test func aFormWithoutItsCSRFTokenIsRefusedAndChangesNothing() async throws {
    try await WebHarness.with { web in
      try await web.user("ivanova", name: "Анна Иванова", roles: [.manager], managerID: "m-19")
      let agent = WebAgent(web)
      try await agent.signIn("ivanova")
      let withoutToken = try await agent.post("/sign-out", [])
      #expect(withoutToken.status == .forbidden)
      let wrongToken = try await agent.post("/sign-out", [("csrf", SessionTokens.random())])
      #expect(wrongToken.status == .forbidden)
      #expect(try await agent.get("/dashboard").status == .ok)
      // Sign-in's own form: without the cookie's token, no session.
      let fresh = WebAgent(web)
      let refused = try await fresh.post(
        "/sign-in", [("csrf", SessionTokens.random()), ("login", "ivanova"), ("password", WebHarness.password)])
      #expect(refused.status == .forbidden)
      #expect(fresh.cookies["crm_session"] == nil)
      #expect(try await web.count("SELECT count(*)::int FROM web_sessions") == 1)
    }
  }

  @Test func signingOutRevokesTheSessionOnTheServer() async throws {
    try await WebHarness.with { web in
      try await web.user("smirnov", name: "Семён Смирнов", roles: [.manager], managerID: "m-20")
      let agent = WebAgent(web)
      try await agent.signIn("smirnov")
      let page = try await agent.get("/dashboard")
      let stolen = try #require(agent.cookies["crm_session"])
      let out = try await agent.post("/sign-out", [("csrf", WebAgent.csrf(in: page))])
      #expect(out.status == .seeOther)
      #expect(out.headers[.location] == "/sign-in")
      #expect(try await web.count("SELECT count(*)::int FROM web_sessions") == 0)
      // The old cookie, replayed, opens nothing.
      let replay = WebAgent(web)
      replay.setCookie("crm_session", stolen)
      let answer = try await replay.get("/dashboard")
      #expect(answer.status == .seeOther)
      #expect(answer.headers[.location] == "/sign-in")
    }
  }

  @Test func aDisabledUserLosesHisSessionAndCannotSignIn() async throws {
    try await WebHarness.with { web in
      try await web.user("orlov", name: "Олег Орлов", roles: [.manager], managerID: "m-21")
      let agent = WebAgent(web)
      try await agent.signIn("orlov")
      #expect(try await web.store.disable(login: "orlov"))
      #expect(try await agent.get("/dashboard").headers[.location] == "/sign-in")
      #expect(try await WebAgent(web).signIn("orlov").status == .unauthorized)
    }
  }

  @Test func aReviewerIsKeptOffTheDashboardAndAManagerOffTheWorkspace() async throws {
    try await WebHarness.with { web in
      try await web.user("reviewer-2", name: "Проверяющий Второй", roles: [.qcReviewer])
      try await web.user("volkov", name: "Виктор Волков", roles: [.manager], managerID: "m-22")
      let reviewer = WebAgent(web)
      #expect(try await reviewer.signIn("reviewer-2").headers[.location] == "/review")
      #expect(try await reviewer.get("/dashboard").status == .forbidden)
      let manager = WebAgent(web)
      try await manager.signIn("volkov")
      #expect(try await manager.get("/review").status == .forbidden)
      let page = try await manager.get("/dashboard")
      #expect(try await manager.post("/review/next", [("csrf", WebAgent.csrf(in: page))]).status == .forbidden)
    }
  }
}
