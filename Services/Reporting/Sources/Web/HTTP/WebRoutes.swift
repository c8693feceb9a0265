import CRMDomain
import CRMIdentity
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The web edge's pages: sign-in and sign-out, the managers' dashboard (Dashboard/), the
/// reviewers' workspace. Every form is checked for its CSRF token (the
/// session's, or before sign-in the sign-in cookie's), read whole up to a few kilobytes, and
/// refused naming the field that is wrong; nothing is changed by a refused request.
public struct WebRoutes: Sendable {
  static let sessionCookie = "crm_session"
  /// Before sign-in there is no session: the sign-in form's token is also a cookie (double submit).
  static let signInCookie = "crm_sign_in"
  static let formLimit = 8192

  let store: WebStore
  let desk: any ReviewDesk
  /// The managers' dashboard (nil: its pages answer 403).
  let reports: Dashboard?
  let settings: WebSettings
  let pages = Pages()
  let logger: Logger

  public init(
    store: WebStore, desk: any ReviewDesk, reports: InProcessReports? = nil, settings: WebSettings, logger: Logger
  ) {
    self.store = store
    self.desk = desk
    self.reports = reports.map { Dashboard(reports: $0, client: store.client, logger: logger) }
    self.settings = settings
    self.logger = logger
  }

  public func add(to router: Router<WebContext>) {
    router.get("/") { request, _ in try await home(request) }
    router.get("/sign-in") { request, _ in try await signInPage(request) }
    router.post("/sign-in") { request, context in try await signIn(request, address: context.clientAddress) }
    router.post("/sign-out") { request, _ in try await signOut(request) }
    addDashboard(to: router)
    router.get("/review") { request, _ in try await workspace(request) }
    router.post("/review/next") { request, _ in try await nextItem(request) }
    router.post("/review/submit") { request, _ in try await submitReview(request) }
  }

  /// Answers `body`'s WebError (and any other failure, without its details) with a page.
  func answer(_ session: WebSession?, _ body: () async throws -> Response) async -> Response {
    do {
      return try await body()
    } catch let error as WebError {
      return pages.error(error, session: session)
    } catch {
      logger.error("web request failed", metadata: ["error": "\(error)"])
      return pages.error(WebError(.internalServerError, "Внутренняя ошибка: повторите позже."), session: session)
    }
  }

  // MARK: Sessions

  /// The request's live session, nil without one.
  func session(_ request: Request) async throws -> WebSession? {
    guard let id = request.cookies[Self.sessionCookie]?.value, SessionTokens.wellFormed(id) else { return nil }
    return try await store.session(id: id)
  }

  /// The form of a signed-in person, its CSRF token checked.
  func signedForm(_ request: Request, allowed: Set<String> = [], prefixes: [String] = []) async throws
    -> (WebSession, WebForm)
  {
    guard let session = try await session(request) else { throw WebError.signInAgain }
    let form = try await WebForm.read(
      request, limit: Self.formLimit, allowed: allowed.union(["csrf"]), prefixes: prefixes)
    guard let token = form.fields["csrf"], SessionTokens.same(token, session.csrfToken) else { throw WebError.csrf }
    return (session, form)
  }

  func home(_ request: Request) async throws -> Response {
    await answer(nil) {
      guard let session = try await session(request) else { return Pages.redirect("/sign-in") }
      return Pages.redirect(Self.home(of: session.user))
    }
  }

  static func home(of user: WebUser) -> String { user.reviews ? "/review" : "/dashboard" }

  func signInPage(_ request: Request, error: WebError? = nil, login: String = "") async throws -> Response {
    await answer(nil) {
      if error == nil, let session = try await session(request) {
        return Pages.redirect(Self.home(of: session.user))
      }
      let token = SessionTokens.random()
      var response = pages.page(
        "sign-in", Pages.SignInView(csrf: token, login: login, error: error?.message), title: "Вход",
        status: error?.status ?? .ok)
      if let seconds = error?.retryAfter { response.headers[.retryAfter] = "\(seconds)" }
      response.setCookie(cookie(Self.signInCookie, token, maxAge: 3600))
      return response
    }
  }

  func signIn(_ request: Request, address: String) async throws -> Response {
    var login = ""
    do {
      let form = try await WebForm.read(request, limit: Self.formLimit, allowed: ["login", "password", "csrf"])
      guard let expected = request.cookies[Self.signInCookie]?.value, let token = form.fields["csrf"],
        SessionTokens.wellFormed(expected), SessionTokens.same(token, expected)
      else { throw WebError.csrf }
      let typed = try form.required("login")
      login = String(typed.prefix(64))
      let password = try form.required("password")
      do {
        login = try WebUser.checked(login: typed)
      } catch {
        throw WebError(.badRequest, "Логин — от 1 до 64 знаков из a-z 0-9 . _ -")
      }
      guard password.utf8.count <= 256 else { throw WebError(.badRequest, "Пароль длиннее 256 байт.") }
      let keys = ["login:\(login)", "address:\(address)"]
      let locked = try await store.lockRemaining(keys: keys)
      guard locked == 0 else {
        throw WebError(
          .tooManyRequests, "Слишком много неудачных попыток: повторите через \(locked) с.", retryAfter: locked)
      }
      let found = try await store.credentials(login: login)
      guard await Passwords.verify(password, hash: found?.passwordHash), let user = found?.user else {
        try await store.recordFailure(key: keys[0], throttle: .perLogin)
        try await store.recordFailure(key: keys[1], throttle: .perAddress)
        throw WebError(.unauthorized, "Неверный логин или пароль.")
      }
      try await store.clearFailures(key: keys[0])
      let id = SessionTokens.random()
      try await store.createSession(
        id: id, login: user.login, csrfToken: SessionTokens.random(), lifetime: settings.sessionLifetime)
      var response = Pages.redirect(Self.home(of: user))
      response.setCookie(cookie(Self.sessionCookie, id, maxAge: Int(settings.sessionLifetime.components.seconds)))
      response.setCookie(cookie(Self.signInCookie, "", maxAge: 0))
      return response
    } catch let error as WebError {
      return try await signInPage(request, error: error, login: login)
    } catch {
      logger.error("sign-in failed", metadata: ["error": "\(error)"])
      return pages.error(WebError(.internalServerError, "Внутренняя ошибка: повторите позже."), session: nil)
    }
  }

  func signOut(_ request: Request) async throws -> Response {
    await answer(nil) {
      guard let id = request.cookies[Self.sessionCookie]?.value, SessionTokens.wellFormed(id) else {
        return Pages.redirect("/sign-in")
      }
      _ = try await signedForm(request)
      try await store.endSession(id: id)
      var response = Pages.redirect("/sign-in")
      response.setCookie(cookie(Self.sessionCookie, "", maxAge: 0))
      return response
    }
  }

  /// HttpOnly, SameSite=Strict, Secure when configured, for the whole site.
  func cookie(_ name: String, _ value: String, maxAge: Int) -> Cookie {
    Cookie(
      name: name, value: value, maxAge: maxAge, path: "/", secure: settings.secureCookies, httpOnly: true,
      sameSite: .strict)
  }
}
