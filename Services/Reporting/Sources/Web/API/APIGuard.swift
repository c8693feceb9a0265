import CRMDatabase
import CRMDomain
import CRMIdentity
import Foundation
import GRPCCore
import HTTPTypes
import Logging
import OpenAPIRuntime
import PostgresNIO

/// Before every operation of the JSON API: the query checked (`APIQuery`), the token request's
/// body read up to a limit and checked, the caller authenticated (bearer token, else the session
/// cookie), the CSRF token of a cookie-authenticated unsafe request checked. After it: every
/// failure answered as a JSON `Error` with its 4xx (5xx only for what is not the caller's doing,
/// logged), and no response cached.
struct APIGuard: ServerMiddleware {
  static let bodyLimit = 4_096
  static let csrfHeader = HTTPField.Name("X-CSRF-Token")!

  let tokens: APITokenStore
  let store: WebStore
  let logger: Logger

  func intercept(
    _ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
    next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?)
  ) async throws -> (HTTPResponse, HTTPBody?) {
    var (response, responseBody) = await answer {
      try APIQuery.check(request.path ?? "", operationID: operationID)
      if operationID == "createToken" {
        let checked = HTTPBody(try await Self.credentials(request, body))
        return try await next(request, checked, metadata)
      }
      let caller = try await authenticate(request)
      if ![.get, .head].contains(request.method), case .session(_, let csrf) = caller.credential {
        guard let sent = request.headerFields[Self.csrfHeader], SessionTokens.same(sent, csrf) else {
          throw APIError(
            .forbidden, field: "X-CSRF-Token",
            "a request signed in by the session cookie needs the session's CSRF token")
        }
      }
      return try await APICaller.$current.withValue(caller) { try await next(request, body, metadata) }
    }
    response.headerFields[.cacheControl] = "no-store"
    if response.status.code == 401 { response.headerFields[.wwwAuthenticate] = "Bearer realm=\"crm\"" }
    return (response, responseBody)
  }

  /// `body`'s response, or its failure's.
  func answer(_ body: () async throws -> (HTTPResponse, HTTPBody?)) async -> (HTTPResponse, HTTPBody?) {
    do {
      return try await body()
    } catch {
      let refusal = refusal(for: error)
      var response = HTTPResponse(status: refusal.status)
      response.headerFields[.contentType] = "application/json; charset=utf-8"
      if let seconds = refusal.retryAfter { response.headerFields[.retryAfter] = "\(seconds)" }
      return (response, HTTPBody(Self.json(refusal)))
    }
  }

  /// The API's refusal of `error`, whether a check here threw it or the generated code wrapped it.
  func refusal(for error: any Error) -> APIError {
    let cause = (error as? ServerError)?.underlyingError ?? error
    switch cause {
    case let refusal as APIError: return refusal
    case let rpc as RPCError: return APIError.reporting(rpc)
    case let domain as any DomainError:
      if let invalid = domain as? InvalidField {
        return APIError.parameter(APIError.parameterNames[invalid.field] ?? invalid.field, invalid.reason)
      }
      return APIError.reporting(RPCError(code: domain.status.code, message: domain.description))
    default: break
    }
    if let server = error as? ServerError, let convertible = server.underlyingError as? any HTTPResponseConvertible,
      (400..<500).contains(convertible.httpStatus.code)
    {
      // The generated decoding refused what the checks above let through (they should not differ).
      return APIError(convertible.httpStatus, "the request could not be read: \(server.causeDescription)")
    }
    if cause is PSQLError || transactionCause(of: cause) is PSQLError {
      logger.warning("web API: the database failed", metadata: ["error": "\(String(reflecting: cause))"])
      return APIError(.serviceUnavailable, "the reports could not be read now; try again")
    }
    logger.error("web API request failed", metadata: ["error": "\(error)"])
    return APIError(.internalServerError, "internal error; try again later")
  }

  // MARK: Who calls

  func authenticate(_ request: HTTPRequest) async throws -> APICaller {
    if let header = request.headerFields[.authorization] {
      let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
      guard parts.count == 2, parts[0].lowercased() == "bearer", SessionTokens.wellFormed(String(parts[1])) else {
        throw APIError(.unauthorized, field: "Authorization", "expected \"Bearer <token>\" with a token of this API")
      }
      let token = String(parts[1])
      guard let user = try await tokens.user(token: token) else {
        throw APIError(.unauthorized, field: "Authorization", "the token is unknown, expired or revoked")
      }
      return APICaller(user: user, credential: .bearer(token: token))
    }
    if let id = Self.cookie(WebRoutes.sessionCookie, in: request), SessionTokens.wellFormed(id),
      let session = try await store.session(id: id)
    {
      return APICaller(user: session.user, credential: .session(id: id, csrfToken: session.csrfToken))
    }
    throw APIError.unauthenticated
  }

  static func cookie(_ name: String, in request: HTTPRequest) -> String? {
    for header in request.headerFields[values: .cookie] {
      for pair in header.split(separator: ";") {
        let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
          return parts[1].trimmingCharacters(in: .whitespaces)
        }
      }
    }
    return nil
  }

  // MARK: The token request's body

  /// The body of `createToken`, read up to `bodyLimit` and checked to be `{"login": …,
  /// "password": …}` and nothing else, so that a refusal names the field.
  static func credentials(_ request: HTTPRequest, _ body: HTTPBody?) async throws -> [UInt8] {
    let type = request.headerFields[.contentType]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces)
    guard type?.lowercased() == "application/json" else {
      throw APIError(.unsupportedMediaType, field: "Content-Type", "expected application/json")
    }
    guard let body else { throw APIError(.badRequest, field: "body", "expected a JSON object with login and password") }
    var bytes: [UInt8] = []
    for try await chunk in body {
      guard bytes.count + chunk.count <= bodyLimit else {
        throw APIError(.contentTooLarge, field: "body", "is larger than \(bodyLimit) bytes")
      }
      bytes += chunk
    }
    guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
      throw APIError(.badRequest, field: "body", "expected a JSON object with login and password")
    }
    if let unknown = object.keys.sorted().first(where: { !["login", "password"].contains($0) }) {
      throw APIError.parameter(unknown, "is not a field of the token request (login, password)")
    }
    for field in ["login", "password"] {
      guard let value = object[field] else { throw APIError.parameter(field, "is required") }
      guard let text = value as? String, !text.isEmpty else {
        throw APIError.parameter(field, "expected a non-empty string")
      }
      guard text.utf8.count <= (field == "login" ? 64 : 256) else {
        throw APIError.parameter(field, "is longer than \(field == "login" ? 64 : 256) bytes")
      }
    }
    return bytes
  }

  static func json(_ refusal: APIError) -> [UInt8] {
    var object = ["message": refusal.message]
    if let field = refusal.field { object["field"] = field }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return Array((try? encoder.encode(object)) ?? Data("{\"message\":\"error\"}".utf8))
  }
}
