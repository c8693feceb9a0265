import CRMContracts
import CRMIdentity
import CRMReview
import CRMRuntime
import Foundation
import GRPCCore
import Logging
import PostgresNIO

/// Reporting's own report methods called as the signed-in person, in process: the same
/// `ReportingRPCService` handlers the Kafka server runs, behind the same access policy
/// (`ReportingAccess`: QC roles refused) and with `Principal.current` set to the person, so the
/// handlers' own rules (`Visibility`: a manager's rows and the team's) decide what he sees.
///
/// In process rather than through `PersonClients` over Kafka: the handlers live in this process,
/// and a round trip through the broker per report (a page asks for several) would add the fetch
/// wait to every one without adding a check — the token a Kafka call carries would be minted
/// here from the same session the principal is built from.
public struct PersonReports: Sendable {
  let service: ReportingRPCService
  let policy: AccessPolicy

  /// `codes` maps QC rep codes back to managers; `forecast` is the company's clock (the
  /// dashboard's days are cut on it too).
  public init(
    client: PostgresClient, logger: Logger, pageTokens: PageTokenKey = .random(), codes: ReviewCodes? = nil,
    forecast: ForecastSettings = .default
  ) {
    service = ReportingRPCService(
      repository: PostgresReportingRepository(client: client, logger: logger), pageTokens: pageTokens, codes: codes,
      forecast: forecast)
    policy = ReportingComponents.access
  }

  /// The company's time zone (`CRM_COMPANY_TIME_ZONE`).
  var zone: TimeZone { service.forecast.zone }

  /// Runs one handler as `person`: PERMISSION_DENIED (naming the rule) when the policy refuses
  /// him the method, else the handler's reply or its RPCError.
  func call<Reply: Sendable>(
    _ method: MethodDescriptor, as person: Principal,
    _ handler: (ReportingRPCService, ServerContext) async throws -> Reply
  ) async throws -> Reply {
    do {
      try policy.check(person, calling: method.fullyQualifiedMethod)
    } catch {
      throw RPCError(code: .permissionDenied, message: error.description)
    }
    return try await Principal.$current.withValue(person) {
      try await withServerContextRPCCancellationHandle { handle in
        try await handler(
          service,
          ServerContext(descriptor: method, remotePeer: "in-process", localPeer: "web-edge", cancellation: handle))
      }
    }
  }
}
