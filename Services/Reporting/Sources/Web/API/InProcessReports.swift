import CRMDomain
import CRMIdentity
import CRMReview
import CRMRuntime
import GRPCCore
import Logging
import PostgresNIO

/// The reporting service's own RPC handlers, called in process as a signed-in person: the
/// method's access rule (`ReportingAccess`) is checked as the RPC server's interceptor checks it,
/// and the handler runs with the person as `Principal.current`, so its row rules (a manager sees
/// his own rows and the team's) decide exactly as over Kafka, without a token or a broker hop.
public struct InProcessReports: Sendable {
  let service: ReportingRPCService
  let client: PostgresClient
  let logger: Logger

  /// The same settings the service's RPCs run with (page tokens, rep codes, the company's clock).
  public init(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random(), codes: ReviewCodes? = nil,
    forecast: ForecastSettings = .default
  ) {
    self.init(
      service: ReportingRPCService(
        repository: PostgresReportingRepository(client: client, logger: logger), pageTokens: pageTokens,
        codes: codes, forecast: forecast),
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

  /// Runs the handler of `method` as `principal`, after the access rule.
  func call<Reply: Sendable>(
    _ method: String, as principal: Principal,
    _ handler: (ReportingRPCService, ServerContext) async throws -> Reply
  ) async throws -> Reply {
    try authorize(method, as: principal)
    let context = ServerContext(
      descriptor: MethodDescriptor(fullyQualifiedService: "crm.reporting.v1.Reporting", method: method),
      remotePeer: "in-process:web-api", localPeer: "in-process:reporting", cancellation: .init())
    return try await Principal.$current.withValue(principal) { try await handler(service, context) }
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
