import CRMContracts
import CRMDomain
import CRMIdentity
import Foundation
import GRPCCore
import SwiftProtobuf

/// The JSON API's operations (the generated `APIProtocol`): tokens, and each report read through
/// the reporting handlers in process as the caller. Failures are thrown as `APIError` and
/// answered by `APIGuard`.
struct APIHandler: APIProtocol {
  let reports: InProcessReports
  let tokens: APITokenStore
  let store: WebStore
  let tokenLifetime: Duration

  // MARK: Tokens

  /// The sign-in form's rules: the same throttle (per login and per client address, counted
  /// together with the form's failures), the same bcrypt check, an unknown login as costly.
  func createToken(_ input: Operations.CreateToken.Input) async throws -> Operations.CreateToken.Output {
    guard case .json(let credentials) = input.body else { throw APIError.parameter("body", "expected JSON") }
    let login: String
    do {
      login = try WebUser.checked(login: credentials.login)
    } catch {
      throw APIError.parameter("login", error.reason)
    }
    let keys = ["login:\(login)", "address:\(APIClient.address)"]
    let locked = try await store.lockRemaining(keys: keys)
    guard locked == 0 else {
      throw APIError(
        .tooManyRequests, "too many failed sign-ins; retry in \(locked) s", retryAfter: locked)
    }
    let found = try await store.credentials(login: login)
    guard await Passwords.verify(credentials.password, hash: found?.passwordHash), let user = found?.user else {
      try await store.recordFailure(key: keys[0], throttle: .perLogin)
      try await store.recordFailure(key: keys[1], throttle: .perAddress)
      throw APIError(.unauthorized, "wrong login or password")
    }
    try await store.clearFailures(key: keys[0])
    let token = SessionTokens.random()
    let expires = try await tokens.create(token: token, login: user.login, lifetime: tokenLifetime)
    return .created(.init(body: .json(.init(token: token, expiresAt: expires))))
  }

  func revokeToken(_ input: Operations.RevokeToken.Input) async throws -> Operations.RevokeToken.Output {
    switch try APICaller.verified.credential {
    case .bearer(let token): try await tokens.revoke(token: token)
    case .session(let id, _): try await store.endSession(id: id)
    }
    return .noContent(.init())
  }

  // MARK: Reports

  /// Runs `method`'s handler as the caller, after the checks the handler cannot make: the
  /// method's access rule first (a QC role learns nothing, not even which ids exist), then a
  /// manager naming another manager (403, not a quietly emptier report), then unknown ids (404).
  func report<Reply: Sendable>(
    _ method: String, owner: String? = nil, pipeline: String? = nil, stage: String? = nil,
    _ handler: (ReportingRPCService, ServerContext) async throws -> Reply
  ) async throws -> Reply {
    let principal = try APICaller.verified.principal
    do {
      try reports.authorize(method, as: principal)
    } catch {
      throw APIError(.forbidden, error.description)
    }
    if let owner, !principal.actsForEveryone, owner != principal.subject {
      throw APIError(
        .forbidden, field: "owner", "owner: a manager sees his own rows and the team's only, not another manager's")
    }
    if let pipeline, try await !reports.knows(pipeline: pipeline) {
      throw APIError(.notFound, field: "pipeline", "pipeline: no pipeline \(Text.quoted(pipeline)) is known")
    }
    if let stage, try await !reports.knows(stage: stage, of: pipeline) {
      throw APIError(.notFound, field: "stage", "stage: no stage \(Text.quoted(stage)) is known")
    }
    do {
      return try await reports.call(method, as: principal, handler)
    } catch let error as RPCError {
      throw APIError.reporting(error)
    }
  }

  static func period(_ from: Date?, _ to: Date?) -> Crm_Reporting_V1_Period? {
    guard from != nil || to != nil else { return nil }
    return .with {
      if let from { $0.from = Google_Protobuf_Timestamp(date: from) }
      if let to { $0.to = Google_Protobuf_Timestamp(date: to) }
    }
  }
}
