import Synchronization
import Testing

@testable import ReportingService

/// `RenderedDashboards`: one rendering per view, another view renders again, a full memo starts
/// afresh.
@Suite("Web: dashboard pages kept per view")
struct RenderedDashboardsTests {
  static func view(_ scope: String) -> DashboardView {
    DashboardView(
      heading: "Воронка", scope: scope, nav: [.init(title: "Воронка", href: "/dashboard", current: true)],
      filters: .init(
        action: "/dashboard", from: "", to: "", pipelines: [], kinds: [], source: "", managers: nil, days: ""))
  }

  @Test func aViewIsRenderedOnce() {
    let rendered = RenderedDashboards(capacity: 2)
    let renderings = Mutex(0)
    let render = { (view: DashboardView) -> String in
      renderings.withLock { $0 += 1 }
      return "<p>\(view.scope)</p>"
    }
    #expect(rendered.html(Self.view("команда"), render: render) == "<p>команда</p>")
    #expect(rendered.html(Self.view("команда"), render: render) == "<p>команда</p>")
    #expect(renderings.withLock { $0 } == 1)
    #expect(rendered.html(Self.view("m-1"), render: render) == "<p>m-1</p>")
    #expect(renderings.withLock { $0 } == 2)
    // Full: the third view starts afresh, so the first is rendered again.
    _ = rendered.html(Self.view("m-2"), render: render)
    _ = rendered.html(Self.view("команда"), render: render)
    #expect(renderings.withLock { $0 } == 4)
  }
}
