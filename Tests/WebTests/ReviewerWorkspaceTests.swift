import CRMIdentity
import CRMTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import ReportingService
import Testing

@Suite("Web edge: the reviewers' workspace")
struct ReviewerWorkspaceTests {
  @Test func aReviewerReviewsTwoItemsAndSeesHisCounts() async throws {
    try await WebHarness.with { web in
      try await web.defineRubric()
      for _ in 0..<2 { try await web.deliver(WebHarness.item()) }
      try await web.user("reviewer-1", name: "Проверяющий", roles: [.qcReviewer])
      let agent = WebAgent(web)
      try await agent.signIn("reviewer-1")
      for round in 1...2 {
        let workspace = try await agent.get("/review")
        #expect(workspace.status == .ok)
        let item = try await agent.post("/review/next", [("csrf", WebAgent.csrf(in: workspace))])
        #expect(item.status == .ok)
        #expect(item.text.contains("[REP] встретился с [CLIENT]"))
        #expect(item.text.contains("Выявлены потребности"))
        let answer = try await agent.post(
          "/review/submit",
          [
            ("csrf", WebAgent.csrf(in: item)), ("item_id", try #require(WebAgent.hidden("item_id", in: item))),
            ("lease_id", try #require(WebAgent.hidden("lease_id", in: item))), ("score.greeting", "2"),
            ("score.needs", "4"),
          ])
        #expect(answer.status == .seeOther, "\(answer.text.prefix(2000))")
        let after = try await agent.get(try #require(answer.headers[.location]))
        #expect(after.text.contains("Оценка принята"))
        #expect(after.text.contains("<td id=\"reviews-submitted\">\(round)</td>"))
      }
      #expect(try await web.qualityControlDatabase.count("SELECT count(*)::int FROM reviews") == 2)
      let workspace = try await agent.get("/review")
      let empty = try await agent.post("/review/next", [("csrf", WebAgent.csrf(in: workspace))])
      #expect(empty.text.contains("Сейчас нечего проверять"))
    }
  }

  /// Names, contacts and internal ids the web edge holds or could reach: none may show to a reviewer.
  static let canaries = [
    "Агафья", "Трындычихина", "Евлампий", "Зюзюкин", "Квазарстрой", "manager-canary7", "zyuzyukin",
    "agafya.tryndychikhina", "79123456789", "912 345",
  ]

  @Test func aReviewerWalkingEveryLinkAndFormSeesNoName() async throws {
    try await WebHarness.with { web in
      try await web.defineRubric()
      for _ in 0..<2 { try await web.deliver(WebHarness.item(text: "[REP] обсудил с [CLIENT] договор; [PHONE]")) }
      // The reviewer's own name and a manager's name and id sit in the same users table.
      try await web.user("reviewer-7", name: "Агафья Трындычихина", roles: [.qcReviewer])
      try await web.user(
        "zyuzyukin", name: "Евлампий Зюзюкин (Квазарстрой)", roles: [.manager], managerID: "manager-canary7")
      let agent = WebAgent(web)
      var responses = [try await agent.signIn("reviewer-7")]
      var queue: [(HTTPRequest.Method, String, [(String, String)])] = [(.get, "/", [])]
      var seen: Set<String> = []
      while let (method, path, fields) = queue.first, seen.count < 40 {
        queue.removeFirst()
        let key = "\(method) \(path) \(fields.map(\.0).sorted())"
        guard seen.insert(key).inserted else { continue }
        let answer = method == .get ? try await agent.get(path) : try await agent.post(path, fields)
        responses.append(answer)
        if let location = answer.headers[.location] { queue.append((.get, location, [])) }
        queue += Self.links(in: answer.text).map { (.get, $0, []) }
        queue += Self.forms(in: answer.text).filter { $0.0 != "/sign-out" }.map { (.post, $0.0, $0.1) }
      }
      #expect(seen.contains { $0.hasPrefix("POST /review/submit") })
      #expect(seen.contains { $0.hasPrefix("POST /review/next") })
      // Pages he may not open, and ids he may guess, answer no name either.
      for path in ["/dashboard", "/review?accepted=%3Cscript%3E", "/m-17", "/review/next"] {
        responses.append(try await agent.get(path))
      }
      let everything = responses.map(\.everything).joined(separator: "\n")
      for canary in Self.canaries {
        #expect(!everything.lowercased().contains(canary.lowercased()), "\(canary) reached a reviewer")
      }
      #expect(everything.contains("reviewer-7"))
    }
  }

  /// `href="…"` targets on this site.
  static func links(in html: String) -> [String] {
    html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
      .filter { $0.hasPrefix("/") }
  }

  /// Each form's action and its fields as a person would fill them: hidden values, the first
  /// choice of every radio group.
  static func forms(in html: String) -> [(String, [(String, String)])] {
    html.components(separatedBy: "<form ").dropFirst().map { form in
      let body = form.components(separatedBy: "</form>")[0]
      let action = body.components(separatedBy: "action=\"").dropFirst().first.map { String($0.prefix { $0 != "\"" }) }
      var fields: [(String, String)] = []
      for input in body.components(separatedBy: "<input ").dropFirst() {
        let name = attribute("name", in: input)
        let value = attribute("value", in: input)
        guard let name, let value, !fields.contains(where: { $0.0 == name }) else { continue }
        fields.append((name, value))
      }
      return (action ?? "/", fields)
    }
  }

  static func attribute(_ name: String, in tag: String) -> String? {
    guard let range = tag.range(of: " \(name)=\"") ?? tag.range(of: "\(name)=\"") else { return nil }
    return String(tag[range.upperBound...].prefix { $0 != "\"" })
  }
}
