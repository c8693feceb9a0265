import Synchronization

/// Dashboard pages' content rendered once per view. swift-mustache looks every tag up through
/// dynamic casts, about 40 ms of CPU for a head of sales' funnel page of some 700 rows at 1M deals;
/// the same view (the same reports, filters and scope: heads of sales watching one pipeline)
/// renders to the same HTML, so it is kept. A view holds everything the template shows, so a kept
/// page can never show another person's rows. Present when the reports are kept too
/// (`ReportMemo`): with both, a page between two changes of the projections costs a lookup.
final class RenderedDashboards: Sendable {
  /// The view with its hash computed once, outside the lock.
  private struct Key: Hashable {
    let view: DashboardView
    let hash: Int
    init(_ view: DashboardView) {
      self.view = view
      hash = view.hashValue
    }
    func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    static func == (lhs: Key, rhs: Key) -> Bool { lhs.hash == rhs.hash && lhs.view == rhs.view }
  }

  let capacity: Int
  private let pages = Mutex<[Key: String]>([:])

  init(capacity: Int = 64) { self.capacity = capacity }

  /// The kept HTML of `view`, or `render`'s, kept. Full, it starts afresh: views change with every
  /// change of the projections, so the old ones are rarely asked again.
  func html(_ view: DashboardView, render: (DashboardView) -> String) -> String {
    let key = Key(view)
    if let html = pages.withLock({ $0[key] }) { return html }
    let html = render(view)
    pages.withLock {
      if $0.count >= capacity { $0.removeAll() }
      $0[key] = html
    }
    return html
  }
}
