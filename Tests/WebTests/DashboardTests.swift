import CRMIdentity
import CRMTestSupport
import Foundation
import HummingbirdTesting
import Testing

@testable import ReportingService

/// The managers' dashboard over a seeded history (`DashboardSeed`): the funnel's figures as the
/// reports give them, who sees whose rows, and the filters' hostile input.
@Suite("Web edge: the managers' dashboard")
struct DashboardTests {
  /// Ivan (m-1) and Pyotr (m-2, a name with markup in it), a head of sales, a reviewer.
  static func withHistory(_ body: @Sendable (WebHarness, DashboardSeed) async throws -> Void) async throws {
    try await WebHarness.with { web in
      let seed = DashboardSeed()
      try await seed.apply(to: web.database)
      try await web.user("ivan", name: "Иван Петров", roles: [.manager], managerID: "m-1")
      try await web.user("petr", name: "Пётр <b>Сидоров</b>", roles: [.manager], managerID: "m-2")
      try await web.user("head", name: "Анна Руководитель", roles: [.headOfSales])
      try await web.user("reviewer-9", name: "Проверяющий", roles: [.qcReviewer])
      try await body(web, seed)
    }
  }

  static func signedIn(_ web: WebHarness, _ login: String) async throws -> WebAgent {
    let agent = WebAgent(web)
    #expect(try await agent.signIn(login).status == .seeOther)
    return agent
  }

  @Test func aManagerSeesHisFunnelBesideTheTeamsAndNoOneElses() async throws {
    try await Self.withHistory { web, seed in
      let ivan = try await Self.signedIn(web, "ivan")
      let page = try await ivan.get("/dashboard")
      #expect(page.status == .ok)
      let html = page.text
      #expect(DashboardHTML.owners(in: html, table: "funnel") == ["team", "m-1"])
      // Stage 1: the team's 5 entered, 3 moved on, 1 lost, 1 open; Ivan's 3, 2, 0, 1.
      #expect(DashboardHTML.figures(html, stage: 1, owner: "team") == [5, 3, 0, 1, 0, 1])
      #expect(DashboardHTML.figures(html, stage: 1, owner: "m-1") == [3, 2, 0, 0, 0, 1])
      #expect(DashboardHTML.figures(html, stage: 2, owner: "team") == [3, 1, 0, 1, 0, 1])
      #expect(DashboardHTML.figures(html, stage: 3, owner: "team") == [1, 0, 0, 0, 1, 0])
      // 3 of 4 that left stage 1 moved on: 75,0 %, Wilson's 30,1–95,4 %.
      #expect(DashboardHTML.cell(html, stage: 1, owner: "team", "rate to-next")?.hasPrefix("75,0\u{00A0}%") == true)
      #expect(html.contains("30,1–95,4\u{00A0}%"))
      #expect(html.contains("<svg class=\"bar\""))
      #expect(!html.contains("Сидоров"), "another manager's name is not on his page")
      #expect(!html.contains("id=\"manager\""), "a manager picks no manager")
      #expect(html.contains("Ваши показатели и показатели команды"))
      // The pipeline chosen by default is the seeded one, named.
      #expect(html.contains("Воронка: Обучение"))
      _ = seed
    }
  }

  @Test func aHeadOfSalesSeesEveryManagerAndPicksOne() async throws {
    try await Self.withHistory { web, seed in
      let head = try await Self.signedIn(web, "head")
      let all = try await head.get("/dashboard?pipeline=\(seed.pipelineID)")
      #expect(all.status == .ok)
      #expect(DashboardHTML.owners(in: all.text, table: "funnel") == ["team", "m-1", "m-2"])
      #expect(all.text.components(separatedBy: "name=\"manager\"").count == 2, "one select of managers")
      #expect(all.text.components(separatedBy: "<option value=\"m-").count == 3, "Ivan and Pyotr")
      #expect(all.text.contains("Пётр &lt;b&gt;Сидоров&lt;/b&gt;"), "names are escaped")
      #expect(!all.text.contains("<b>Сидоров"))
      let picked = try await head.get("/dashboard?manager=m-2")
      #expect(picked.status == .ok)
      #expect(DashboardHTML.owners(in: picked.text, table: "funnel") == ["team", "m-2"])
      #expect(DashboardHTML.figures(picked.text, stage: 1, owner: "m-2") == [2, 1, 0, 1, 0, 0])
      #expect(picked.text.contains("<option value=\"m-2\" selected>"))
      #expect(picked.text.contains("Команда и Пётр &lt;b&gt;Сидоров&lt;/b&gt;"))
    }
  }

  /// Pages and reports are kept per state of the projections (`RenderedDashboards`,
  /// `ReportMemo`): the same page again is the same, a new event shows on the next one, and a
  /// manager's page of the same pipeline is still his own.
  @Test func aKeptPageShowsTheNextEvent() async throws {
    try await Self.withHistory { web, seed in
      let head = try await Self.signedIn(web, "head")
      let first = try await head.get("/dashboard")
      #expect(try await head.get("/dashboard").text == first.text)
      #expect(DashboardHTML.figures(first.text, stage: 1, owner: "team") == [5, 3, 0, 1, 0, 1])
      try await seed.apply(try seed.idleDeals(2, owner: "m-2"), to: web.database)
      let next = try await head.get("/dashboard")
      #expect(DashboardHTML.figures(next.text, stage: 1, owner: "team") == [7, 3, 0, 1, 0, 3])
      #expect(DashboardHTML.figures(next.text, stage: 1, owner: "m-2").first == 4)
      let ivan = try await Self.signedIn(web, "ivan")
      #expect(DashboardHTML.owners(in: try await ivan.get("/dashboard").text, table: "funnel") == ["team", "m-1"])
    }
  }

  @Test func aManagerAskingForAnothersFiguresIsRefused() async throws {
    try await Self.withHistory { web, _ in
      let ivan = try await Self.signedIn(web, "ivan")
      for path in ["/dashboard?manager=m-2", "/dashboard/losses?manager=m-2", "/dashboard/team?manager=m-2"] {
        let answer = try await ivan.get(path)
        #expect(answer.status == .forbidden, "\(path)")
        #expect(answer.text.contains("только свои показатели"))
      }
      #expect(try await ivan.get("/dashboard?manager=m-1").status == .ok)
    }
  }

  @Test func aReviewerGetsForbiddenAndNoName() async throws {
    try await Self.withHistory { web, _ in
      let reviewer = try await Self.signedIn(web, "reviewer-9")
      for section in DashboardSection.allCases {
        let answer = try await reviewer.get(section.path)
        #expect(answer.status == .forbidden, "\(section.path)")
        for name in ["Иван", "Сидоров", "Анна", "m-1", "m-2", "Обучение"] {
          #expect(!answer.everything.contains(name), "\(section.path) shows \(name)")
        }
      }
    }
  }

  @Test func everySectionShowsTheSeededReports() async throws {
    try await Self.withHistory { web, _ in
      let head = try await Self.signedIn(web, "head")
      let losses = try await head.get("/dashboard/losses?days=1")
      #expect(losses.status == .ok)
      #expect(DashboardHTML.text(losses.text, id: "lost") == "2")
      #expect(DashboardHTML.text(losses.text, id: "lost-real")?.hasPrefix("1 (50,0\u{00A0}%)") == true)
      #expect(DashboardHTML.text(losses.text, id: "lost-stall")?.hasPrefix("1 (50,0\u{00A0}%)") == true)
      // D2 and D4 are open and untouched since January.
      let stalled = try #require(DashboardHTML.section(losses.text, table: "stalled"))
      #expect(stalled.components(separatedBy: "<tr><td").count - 1 == 2)

      let forecast = try await head.get("/dashboard/forecast")
      #expect(forecast.status == .ok)
      // Open: D2 20 000,00 ₽ and D4 30 000,00 ₽.
      #expect(forecast.text.contains("50\u{00A0}000,00\u{00A0}₽"))
      #expect(forecast.text.contains("id=\"calibration\""))

      let team = try await head.get("/dashboard/team")
      #expect(team.status == .ok)
      #expect(team.text.contains("id=\"discipline\"") && team.text.contains("id=\"quality\""))
      #expect(team.text.contains("80,0"), "m-1's review, his code mapped back to him")

      let board = try await head.get("/dashboard/leaderboard")
      #expect(board.status == .ok)
      #expect(board.text.contains("100\u{00A0}000,00\u{00A0}₽"), "m-1 won D0")
    }
  }

  @Test func theStalledDealsComeAPageAtATime() async throws {
    try await Self.withHistory { web, seed in
      try await seed.apply(try seed.idleDeals(26, owner: "m-1"), to: web.database)
      let ivan = try await Self.signedIn(web, "ivan")
      let first = try await ivan.get("/dashboard/losses")
      #expect(first.status == .ok)
      func rows(_ page: TestResponse) -> Int {
        (DashboardHTML.section(page.text, table: "stalled")?.components(separatedBy: "<tr><td").count ?? 1) - 1
      }
      // His 27 idle deals (D2 and 26 more); Pyotr's D4 is not his to list.
      #expect(rows(first) == Int(Dashboard.stalledPageSize))
      let next = try #require(DashboardHTML.link(first.text, id: "stalled-next"))
      #expect(next.hasPrefix("/dashboard/losses?page="))
      let second = try await ivan.get(next)
      #expect(second.status == .ok)
      #expect(rows(second) == 27 - Int(Dashboard.stalledPageSize))
      #expect(DashboardHTML.link(second.text, id: "stalled-next") == nil)
      #expect(!second.text.contains("Сидоров"))
    }
  }

  @Test func aPeriodWithoutHistorySaysSo() async throws {
    try await Self.withHistory { web, _ in
      let head = try await Self.signedIn(web, "head")
      let page = try await head.get("/dashboard?from=01.01.2025&to=2025-01-31")
      #expect(page.status == .ok)
      #expect(page.text.contains("id=\"funnel-empty\""))
      #expect(page.text.contains("нет данных за период"))
      #expect(page.text.contains("value=\"2025-01-01\""), "the form keeps the period")
      let january = try await head.get("/dashboard?from=2026-01-01&to=2026-01-31")
      #expect(DashboardHTML.figures(january.text, stage: 1, owner: "team") == [5, 3, 0, 1, 0, 1])
    }
  }

  @Test func hostileFiltersGetAPrecise4xx() async throws {
    try await Self.withHistory { web, _ in
      let head = try await Self.signedIn(web, "head")
      let cases: [(String, Int, String)] = [
        ("/dashboard?pipeline=nope", 404, "«pipeline»"),
        ("/dashboard?manager=m-404", 404, "«manager»"),
        ("/dashboard?from=2026-02-30", 400, "«from»"),
        ("/dashboard?to=31.12.99999", 400, "«to»"),
        ("/dashboard?from=2026-02-01&to=2026-01-01", 400, "позже"),
        ("/dashboard?kind=%3Cscript%3E", 400, "«kind»"),
        ("/dashboard?days=0", 400, "«days»"),
        ("/dashboard?admin=1", 400, "лишнее поле"),
        ("/dashboard?from=2026-01-01&from=2026-01-02", 400, "повторено"),
        ("/dashboard?pipeline=%3Cscript%3Ealert(1)%3C%2Fscript%3E", 400, "«pipeline»"),
        ("/dashboard/losses?page=forged-token", 400, "page"),
        ("/dashboard?source=" + String(repeating: "x", count: 3000), 414, "2048"),
      ]
      for (path, status, says) in cases {
        let answer = try await head.get(path)
        #expect(Int(answer.status.code) == status, "\(path.prefix(80))")
        #expect(answer.text.contains(says), "\(path.prefix(80)): \(answer.text.suffix(300))")
        #expect(!answer.text.contains("<script>"))
      }
      // Markup in a free-text filter is only a filter: shown back escaped, nothing found.
      let script = try await head.get("/dashboard?source=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
      #expect(script.status == .ok)
      #expect(!script.text.contains("<script>"))
      #expect(script.text.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""))
    }
  }

  @Test func russianFormats() {
    #expect(RussianFormat.money(minor: 123_456_789, currency: "RUB") == "1\u{00A0}234\u{00A0}567,89\u{00A0}₽")
    #expect(RussianFormat.money(minor: -5, currency: "USD") == "−0,05\u{00A0}$")
    #expect(RussianFormat.money(minor: 1_500, currency: "JPY") == "1\u{00A0}500\u{00A0}JPY")
    #expect(RussianFormat.percent(0.425) == "42,5\u{00A0}%")
    #expect(RussianFormat.percent(1) == "100,0\u{00A0}%")
    #expect(RussianFormat.integer(Int64(999)) == "999")
    #expect(RussianFormat.integer(Int64(1_000)) == "1\u{00A0}000")
    #expect(RussianFormat.decimal(0.875, digits: 2) == "0,88")
    #expect(RussianFormat.decimal(-0.001, digits: 2) == "0,00")
    let moscow = TimeZone(identifier: "Europe/Moscow")!
    // 23:30 UTC on 1 December is already 2 December in Moscow.
    #expect(RussianFormat.date(Date(timeIntervalSince1970: 1_796_167_800), in: moscow) == "02.12.2026")
    #expect(DashboardFilters.Day("2026-12-02") == DashboardFilters.Day("02.12.2026"))
    #expect(DashboardFilters.Day("2025-02-29") == nil && DashboardFilters.Day("2024-02-29") != nil)
    #expect(DashboardFilters.Day("２０２６-12-02") == nil)
  }
}

/// Reads the dashboard's tables back out of its HTML.
enum DashboardHTML {
  /// The `data-owner`s of a table's rows, in order, each once.
  static func owners(in html: String, table id: String) -> [String] {
    guard let table = section(html, table: id) else { return [] }
    var owners: [String] = []
    for part in table.components(separatedBy: "data-owner=\"").dropFirst() {
      let owner = String(part.prefix { $0 != "\"" })
      if !owners.contains(owner) { owners.append(owner) }
    }
    return owners
  }

  static func section(_ html: String, table id: String) -> Substring? {
    guard let start = html.range(of: "<table class=\"report\" id=\"\(id)\">"),
      let end = html.range(of: "</table>", range: start.upperBound..<html.endIndex)
    else { return nil }
    return html[start.upperBound..<end.lowerBound]
  }

  /// The row's text of the cell of `kind` (its class).
  static func cell(_ html: String, stage: Int, owner: String, _ kind: String) -> String? {
    guard let row = html.range(of: "data-stage=\"\(stage)\" data-owner=\"\(owner)\">"),
      let end = html.range(of: "</tr>", range: row.upperBound..<html.endIndex),
      let cell = html.range(of: "<td class=\"\(kind)\">", range: row.upperBound..<end.lowerBound)
    else { return nil }
    return String(html[cell.upperBound...].prefix { $0 != "<" })
  }

  /// Entered, advanced, skipped, lost, won, open.
  static func figures(_ html: String, stage: Int, owner: String) -> [Int] {
    ["entered", "advanced", "skipped", "lost", "won", "open"].compactMap {
      cell(html, stage: stage, owner: owner, $0).flatMap { Int($0.replacingOccurrences(of: "\u{00A0}", with: "")) }
    }
  }

  /// The href of the link with `id`, its `&amp;`s read back.
  static func link(_ html: String, id: String) -> String? {
    guard let end = html.range(of: "\" id=\"\(id)\">"),
      let start = html.range(of: "href=\"", options: .backwards, range: html.startIndex..<end.lowerBound)
    else { return nil }
    return String(html[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&")
  }

  /// The text of the element with `id` (up to its first tag).
  static func text(_ html: String, id: String) -> String? {
    guard let start = html.range(of: "id=\"\(id)\">") else { return nil }
    return String(html[start.upperBound...].prefix { $0 != "<" })
  }
}
