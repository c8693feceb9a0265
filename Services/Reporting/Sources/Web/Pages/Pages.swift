import CRMContracts
import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// Renders the pages: each view below is what one template shows, nothing more (a reviewer's
/// views hold codes, redacted text and his own login only).
struct Pages: Sendable {
  let library: MustacheLibrary

  init() {
    var library = MustacheLibrary()
    let templates: [(String, String)] =
      [
        ("layout", Templates.layout), ("sign-in", Templates.signIn), ("workspace", Templates.workspace),
        ("empty", Templates.empty), ("item", Templates.item), ("error", Templates.error),
      ] + DashboardTemplates.all
    for (name, text) in templates {
      do {
        try library.register(text, named: name)
      } catch {
        preconditionFailure("template \(name): \(error)")
      }
    }
    self.library = library
  }

  /// The header's part for a signed-in person: whom the page is for and the sign-out form.
  struct Frame {
    var title: String
    var signedIn: Bool
    var shownAs: String
    var csrf: String
    /// Wide pages (the dashboard's tables) get the whole window.
    var wide: Bool
    var content: String
  }

  struct SignInView {
    var csrf: String
    var login: String
    var error: String?
  }

  struct WorkspaceView {
    var csrf: String
    var accepted: Bool
    var submitted: Int64
    var thisWeek: Int64
    var expired: Int64
    var meanScore: String
  }

  struct EmptyView { var reason: String? }

  struct ItemView {
    struct Entry {
      var key: String
      var value: String
    }
    struct Choice {
      var key: String
      var value: Int
    }
    struct CriterionView {
      var key: String
      var label: String
      var weight: Int32
      var values: [Choice]
    }
    var csrf: String
    var kind: String
    var occurredAt: String
    var leaseExpiresAt: String
    var itemID: String
    var leaseID: String
    var repCode: String
    var clientCode: String
    var companyCode: String?
    var dealCode: String?
    var context: [Entry]
    var text: String
    var rubricName: String
    var rubricVersion: Int64
    var criteria: [CriterionView]
  }

  struct ErrorView {
    var heading: String
    var message: String
  }

  /// A whole page: `template` with `view`, inside the layout.
  func page(
    _ template: String, _ view: Any, title: String, session: WebSession? = nil, status: HTTPResponse.Status = .ok,
    wide: Bool = false
  ) -> Response {
    page(content: render(template, view), title: title, session: session, status: status, wide: wide)
  }

  /// `template` with `view`: the content of a page.
  func render(_ template: String, _ view: Any) -> String {
    library.render(MustacheValues.flattened(view) ?? [String: Any](), withTemplate: template) ?? ""
  }

  /// A whole page around `content` rendered before.
  func page(
    content: String, title: String, session: WebSession? = nil, status: HTTPResponse.Status = .ok, wide: Bool = false
  ) -> Response {
    let frame = Frame(
      title: title, signedIn: session != nil, shownAs: session.map(Self.shownAs) ?? "",
      csrf: session?.csrfToken ?? "", wide: wide, content: content)
    let html = library.render(MustacheValues.flattened(frame) ?? [String: Any](), withTemplate: "layout") ?? ""
    return Self.html(html, status: status)
  }

  func error(_ error: WebError, session: WebSession?) -> Response {
    var response = page(
      "error", ErrorView(heading: Self.heading(error.status), message: error.message), title: "Ошибка",
      session: session, status: error.status)
    if let seconds = error.retryAfter { response.headers[.retryAfter] = "\(seconds)" }
    return response
  }

  /// How the header names a person: a reviewer by his login (no person's name crosses the
  /// wall), anyone else by name.
  static func shownAs(_ session: WebSession) -> String {
    session.user.seesDashboard ? session.user.displayName : session.user.login
  }

  static func heading(_ status: HTTPResponse.Status) -> String {
    switch status.code {
    case 400: "Неверные данные"
    case 401: "Нужно войти"
    case 403: "Нет доступа"
    case 404: "Не найдено"
    case 409: "Не получилось"
    case 413: "Слишком большой запрос"
    case 414: "Слишком длинный адрес"
    case 415: "Неверный формат"
    case 429: "Слишком много попыток"
    default: "Сервис недоступен"
    }
  }

  /// Every page: no caching, no framing, no scripts, forms only to this site.
  static func html(_ html: String, status: HTTPResponse.Status) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "text/html; charset=utf-8"
    secure(&headers)
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
  }

  static func secure(_ headers: inout HTTPFields) {
    headers[.cacheControl] = "no-store"
    headers[.contentSecurityPolicy] =
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    headers[.xContentTypeOptions] = "nosniff"
    headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
  }

  /// A 303 to `location` (after a form).
  static func redirect(_ location: String) -> Response {
    var headers = HTTPFields()
    headers[.location] = location
    secure(&headers)
    return Response(status: .seeOther, headers: headers)
  }

  // MARK: Russian formats

  static func dateTime(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "ru_RU")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "dd.MM.yyyy HH:mm"
    return formatter.string(from: date)
  }

  /// 0 to 100 with one decimal and a comma, as Russian writes it.
  static func score(_ value: Double) -> String {
    String(format: "%.1f", value).replacingOccurrences(of: ".", with: ",")
  }

  static func kind(_ kind: Crm_Qualitycontrol_V1_ReviewItemKind) -> String {
    switch kind {
    case .meeting: "встреча"
    case .call: "звонок"
    default: "отчёт"
    }
  }
}
