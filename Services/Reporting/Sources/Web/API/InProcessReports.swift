import CRMDomain
import CRMIdentity
import CRMReview
import CRMRuntime
import Foundation
import GRPCCore
import Logging
import PostgresNIO

/// The reporting service's own RPC handlers, called in process as a signed-in person by the
/// dashboard's pages and the JSON API: the method's access rule (`ReportingAccess`) is checked as
/// the RPC server's interceptor checks it, and the handler runs with the person as
/// `Principal.current`, so its row rules (a manager sees his own rows and the team's) decide
/// exactly as over Kafka — without a token or a broker hop: the handlers live in this process,
/// and a round trip through the broker per report (a page asks for several) would add the fetch
/// wait to each without adding a check.
public struct InProcessReports: Sendable {
  let service: ReportingRPCService
  let client: PostgresClient
  let logger: Logger

  /// The same settings the service's RPCs run with (page tokens, rep codes, the company's clock,
  /// reports kept per state of the projections or not: `ReportingComponents.rpcService`).
  public init(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random(), codes: ReviewCodes? = nil,
    forecast: ForecastSettings = .default, memo: ReportMemo? = ReportMemo()
  ) {
    self.init(
      service: ReportingRPCService(
        repository: ReportingComponents.repository(client: client, logger: logger, memo: memo),
        pageTokens: pageTokens, codes: codes, forecast: forecast),
      client: client, logger: logger)
  }

  init(service: ReportingRPCService, client: PostgresClient, logger: Logger) {
    self.service = service
    self.client = client
    self.logger = logger
  }

  /// Refuses unless `principal` may call `method` (e.g. "GetFunnel"): PermissionDenied naming the rule.
  func authorize(_ method: String, as principal: Principal) throws(PermissionDenied) {
    try ReportingAccess.policy.check(principal, calling: ReportingAccess.service + method)
  }

  /// The company's time zone (`CRM_COMPANY_TIME_ZONE`): the dashboard cuts its days on it.
  var zone: TimeZone { service.forecast.zone }

  /// Runs the handler of `method` (e.g. "GetFunnel") as `principal`, after the access rule.
  func call<Reply: Sendable>(
    _ method: String, as principal: Principal,
    _ handler: (ReportingRPCService, ServerContext) async throws -> Reply
  ) async throws -> Reply {
    try authorize(method, as: principal)
    return try await run(
      MethodDescriptor(fullyQualifiedService: "crm.reporting.v1.Reporting", method: method), as: principal, handler)
  }

  /// The same by the method's descriptor, the access rule's refusal as PERMISSION_DENIED: the
  /// dashboard shows every refusal of a report as the RPC would have given it.
  func call<Reply: Sendable>(
    _ method: MethodDescriptor, as principal: Principal,
    _ handler: (ReportingRPCService, ServerContext) async throws -> Reply
  ) async throws -> Reply {
    do {
      try authorize(method.method, as: principal)
    } catch {
      throw RPCError(code: .permissionDenied, message: error.description)
    }
    return try await run(method, as: principal, handler)
  }

  private func run<Reply: Sendable>(
    _ method: MethodDescriptor, as principal: Principal,
    _ handler: (ReportingRPCService, ServerContext) async throws -> Reply
  ) async throws -> Reply {
    try await Principal.$current.withValue(principal) {
      try await withServerContextRPCCancellationHandle { handle in
        try await handler(
          service,
          ServerContext(
            descriptor: method, remotePeer: "in-process:web-edge", localPeer: "in-process:reporting",
            cancellation: handle))
      }
    }
  }

  /// Whether reporting knows the pipeline: an unknown id is a 404, not an empty report that
  /// looks like a quiet month.
  func knows(pipeline: String) async throws -> Bool {
    try await exists(client.query("SELECT 1 FROM pipelines WHERE id = \(pipeline)", logger: logger))
  }

  /// Whether reporting knows the stage (of `pipeline`, when one is given).
  func knows(stage: String, of pipeline: String?) async throws -> Bool {
    try await exists(
      client.query(
        """
        SELECT 1 FROM pipeline_stages WHERE stage_id = \(stage) AND (\(pipeline)::text IS NULL OR pipeline_id = \(pipeline))
        """, logger: logger))
  }

  private func exists(_ rows: PostgresRowSequence) async throws -> Bool {
    for try await _ in rows.decode(Int.self) { return true }
    return false
  }
}
