import CRMIdentity
import CRMTestSupport
import Foundation
import ReportingService
import Testing

/// The workspace as a reviewer uses it: a real headless Chromium signs in, reviews two items and
/// tries a wrong password; the dashboard as a manager and a head of sales use it. Screenshots go to `CRM_SCREENSHOT_DIR` (default .build/screenshots).
@Suite("Web edge in a real browser", .serialized)
struct BrowserTests {
  static var screenshots: URL {
    ProcessInfo.processInfo.environment["CRM_SCREENSHOT_DIR"].map { URL(fileURLWithPath: $0) }
      ?? LocalStack.repositoryRoot.appendingPathComponent(".build/screenshots")
  }

  @Test(.timeLimit(.minutes(3)))
  func aReviewerReviewsTwoItemsInChromium() async throws {
    try await WebHarness.with { web in
      try await web.defineRubric()
      for _ in 0..<2 { try await web.deliver(WebHarness.item()) }
      try await web.user("reviewer-1", name: "Проверяющий", roles: [.qcReviewer])
      let browser = try await WebDriver.start()
      do {
        let site = "http://127.0.0.1:\(web.port)"
        try await browser.open("\(site)/")
        #expect(try await browser.currentURL == "\(site)/sign-in")
        try await browser.screenshot(to: Self.screenshots.appendingPathComponent("sign-in.png"))

        try await browser.type("reviewer-1", into: "#login")
        try await browser.type("wrong password", into: "#password")
        try await browser.click("#sign-in")
        #expect(try await browser.text("#error").contains("Неверный логин или пароль"))
        try await browser.screenshot(to: Self.screenshots.appendingPathComponent("sign-in-wrong-password.png"))

        try await browser.type("reviewer-1", into: "#login")
        try await browser.type(WebHarness.password, into: "#password")
        try await browser.click("#sign-in")
        #expect(try await browser.currentURL == "\(site)/review")
        #expect(try await browser.text("#reviews-submitted") == "0")
        try await browser.screenshot(to: Self.screenshots.appendingPathComponent("workspace.png"))

        for round in 1...2 {
          try await browser.click("#next-item")
          #expect(try await browser.text("#redacted-text").contains("[CLIENT]"))
          if round == 1 {
            try await browser.screenshot(to: Self.screenshots.appendingPathComponent("review-item.png"))
          }
          try await browser.click("#score-greeting-2")
          try await browser.click("#score-needs-\(round + 2)")
          try await browser.click("#submit-review")
          #expect(try await browser.text("#notice") == "Оценка принята.")
          #expect(try await browser.text("#reviews-submitted") == "\(round)")
        }
        try await browser.screenshot(to: Self.screenshots.appendingPathComponent("workspace-after-two.png"))
        #expect(try await web.qualityControlDatabase.count("SELECT count(*)::int FROM reviews") == 2)

        try await browser.click("#sign-out")
        #expect(try await browser.currentURL == "\(site)/sign-in")
        #expect(try await web.count("SELECT count(*)::int FROM web_sessions") == 0)
      } catch {
        await browser.stop()
        throw error
      }
      await browser.stop()
    }
  }

  @Test(.timeLimit(.minutes(3)))
  func aManagerReadsTheSeededFunnelInChromium() async throws {
    try await WebHarness.with { web in
      try await DashboardSeed().apply(to: web.database)
      try await web.user("ivan", name: "Иван Петров", roles: [.manager], managerID: "m-1")
      try await web.user("head", name: "Анна Руководитель", roles: [.headOfSales])
      try await web.user("petr", name: "Пётр Сидоров", roles: [.manager], managerID: "m-2")
      let browser = try await WebDriver.start()
      do {
        let site = "http://127.0.0.1:\(web.port)"
        try await browser.open("\(site)/")
        try await browser.type("ivan", into: "#login")
        try await browser.type(WebHarness.password, into: "#password")
        try await browser.click("#sign-in")
        #expect(try await browser.currentURL == "\(site)/dashboard")
        func figure(_ stage: Int, _ owner: String, _ kind: String) async throws -> String {
          try await browser.text("#funnel tr[data-stage=\"\(stage)\"][data-owner=\"\(owner)\"] td.\(kind)")
        }
        // The seeded funnel: the team's stage 1 (5 in, 3 on, 1 lost, 1 open) beside Ivan's (3, 2).
        #expect(try await figure(1, "team", "entered") == "5")
        #expect(try await figure(1, "team", "advanced") == "3")
        #expect(try await figure(1, "team", "lost") == "1")
        #expect(try await figure(1, "m-1", "entered") == "3")
        #expect(try await figure(1, "m-1", "advanced") == "2")
        #expect(try await figure(3, "team", "won") == "1")
        #expect(try await browser.source.contains("data-owner=\"m-2\"") == false)
        try await browser.screenshot(to: Self.screenshots.appendingPathComponent("dashboard-manager.png"))
        try await browser.click("nav.sections a[href^=\"/dashboard/forecast\"]")
        #expect(try await browser.currentURL == "\(site)/dashboard/forecast")
        try await browser.screenshot(to: Self.screenshots.appendingPathComponent("dashboard-forecast.png"))
        try await browser.click("#sign-out")

        // A head of sales picks Pyotr in the form's select and applies it.
        try await browser.type("head", into: "#login")
        try await browser.type(WebHarness.password, into: "#password")
        try await browser.click("#sign-in")
        try await browser.click("#manager option[value=\"m-2\"]")
        try await browser.click("#apply")
        #expect(try await browser.currentURL.contains("manager=m-2"))
        #expect(try await figure(1, "m-2", "entered") == "2")
        #expect(try await figure(1, "m-2", "lost") == "1")
        try await browser.screenshot(to: Self.screenshots.appendingPathComponent("dashboard-head.png"))
        for section in ["losses", "team", "leaderboard"] {
          try await browser.click("nav.sections a[href^=\"/dashboard/\(section)\"]")
          #expect(try await browser.currentURL.hasPrefix("\(site)/dashboard/\(section)?"))
          try await browser.screenshot(to: Self.screenshots.appendingPathComponent("dashboard-\(section).png"))
        }
      } catch {
        await browser.stop()
        throw error
      }
      await browser.stop()
    }
  }
}
