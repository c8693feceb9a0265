import Hummingbird

/// The dashboard's pages: `/dashboard` (funnel and leads) and `/dashboard/<section>`, GET only,
/// for managers and heads of sales; anyone else (a QC reviewer, a QC head) gets 403.
extension WebRoutes {
  func addDashboard(to router: Router<WebContext>) {
    for section in DashboardSection.allCases {
      router.get(RouterPath(section.path)) { request, _ in try await dashboardPage(request, section) }
    }
  }

  func dashboardPage(_ request: Request, _ section: DashboardSection) async throws -> Response {
    let current = try? await session(request)
    return await answer(current) {
      guard let session = current else { return Pages.redirect("/sign-in") }
      guard session.user.seesDashboard, let reports else { throw WebError.forbidden }
      let view = try await reports.view(section, query: request.uri.query, person: session.user.principal)
      let content = reports.rendered?.html(view) { pages.render("dashboard", $0) } ?? pages.render("dashboard", view)
      return pages.page(content: content, title: "Отчёты", session: session, wide: true)
    }
  }
}
