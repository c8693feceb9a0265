import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OpenAPIHummingbird
import OpenAPIRuntime

/// The JSON API on the web edge: its document at `/openapi.yaml` and its operations under
/// `/api/v1` (generated from the document by deploy/local/generate-openapi, served through
/// swift-openapi-hummingbird), each checked and authenticated by `APIGuard`.
public struct ReportsAPI: Sendable {
  /// A longer target (path and query) is refused before routing: no report takes that much.
  static let targetLimit = 4_096

  let handler: APIHandler
  let guardian: APIGuard

  public init(reports: InProcessReports, store: WebStore, settings: WebSettings, logger: Logger) {
    let tokens = APITokenStore(client: reports.client, logger: logger)
    handler = APIHandler(reports: reports, tokens: tokens, store: store, tokenLifetime: settings.tokenLifetime)
    guardian = APIGuard(tokens: tokens, store: store, logger: logger)
  }

  public func add(to router: Router<WebContext>) throws {
    router.get("/openapi.yaml") { _, _ in
      var headers = HTTPFields()
      headers[.contentType] = "application/yaml; charset=utf-8"
      return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
    }
    let group = router.group("api/v1").add(middleware: ClientAddressMiddleware())
    try handler.registerHandlers(
      on: group, serverURL: URL(string: "/")!,
      // Compact JSON (the runtime pretty-prints by default): the reports are read by programs.
      configuration: Configuration(
        dateTranscoder: RFC3339Transcoder(), jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]),
      middlewares: [guardian])
  }
}

/// Hands the connection's address to the generated handlers (they see no request context), and
/// refuses an overlong target with the API's JSON error before anything reads it.
struct ClientAddressMiddleware: RouterMiddleware {
  typealias Context = WebContext

  func handle(_ request: Request, context: WebContext, next: (Request, WebContext) async throws -> Response)
    async throws -> Response
  {
    guard (request.head.path ?? "").utf8.count <= ReportsAPI.targetLimit else {
      let refusal = APIError(
        .uriTooLong, field: "query", "the request's target is longer than \(ReportsAPI.targetLimit) bytes")
      var headers = HTTPFields()
      headers[.contentType] = "application/json; charset=utf-8"
      headers[.cacheControl] = "no-store"
      return Response(
        status: refusal.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: APIGuard.json(refusal))))
    }
    return try await APIClient.$address.withValue(context.clientAddress) { try await next(request, context) }
  }
}
