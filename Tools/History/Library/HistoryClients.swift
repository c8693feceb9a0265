import CRMContracts
import CRMIdentity
import CRMKafka
import CRMRPC
import Foundation
import GRPCCore
import Logging

/// Where the generator calls and how it signs: the broker, and the issuer key whose tokens the
/// services accept (crmctl's `CRM_TOKEN_SIGNING_KEY_FILE`).
public struct HistoryConnection: Sendable {
  public var kafka: KafkaConfiguration
  public var issuer: TokenIssuer
  /// Calls in flight at once (each lead or deal is driven by one task, its calls in order).
  public var concurrency: Int
  public var timeout: Duration
  public var logger: Logger
  /// Where progress lines go (standard error for the command, nowhere in tests).
  public var progress: @Sendable (String) -> Void

  public init(
    kafka: KafkaConfiguration, issuer: TokenIssuer, concurrency: Int = 16, timeout: Duration = .seconds(30),
    logger: Logger, progress: @escaping @Sendable (String) -> Void = { _ in }
  ) {
    self.kafka = kafka
    self.issuer = issuer
    self.concurrency = concurrency
    self.timeout = timeout
    self.logger = logger
    self.progress = progress
  }
}

/// The clients of one run: the operator imports history into contacts and deals (only an
/// operator may give `occurred_at`); each manager logs his own activities and offers (their
/// author is the caller).
struct HistoryClients: Sendable {
  static let operatorPrincipal = "operator:crm-history"

  let contacts: Crm_Contacts_V1_Contacts.Client<KafkaClientTransport>
  let deals: Crm_Deals_V1_Deals.Client<KafkaClientTransport>
  let catalogue: Crm_Activity_V1_Activity.Client<KafkaClientTransport>
  let activity: [String: Crm_Activity_V1_Activity.Client<KafkaClientTransport>]
  /// Quality control: its head defines the rubric; reviewers are made as the reviews need
  /// them (`reviewer(_:)`, in `reviewAll`).
  let qcHead: Crm_Qualitycontrol_V1_QualityControl.Client<KafkaClientTransport>
  let reviewer: @Sendable (Int) throws -> GRPCClient<KafkaClientTransport>
  private let all: [GRPCClient<KafkaClientTransport>]

  init(_ connection: HistoryConnection) throws {
    @Sendable func client(_ service: String, as text: String) throws -> GRPCClient<KafkaClientTransport> {
      let principal = try Principal(parsing: text)
      return GRPCClient(
        transport: KafkaClientTransport(
          configuration: .init(
            kafka: connection.kafka, service: service, caller: principal, defaultTimeout: connection.timeout),
          logger: connection.logger),
        interceptors: [TokenClientInterceptor(issuer: connection.issuer, principal: principal, audience: [service])])
    }
    let contacts = try client("contacts", as: Self.operatorPrincipal)
    let deals = try client("deals", as: Self.operatorPrincipal)
    let catalogue = try client("activity", as: Self.operatorPrincipal)
    var activity: [String: GRPCClient<KafkaClientTransport>] = [:]
    for manager in Catalogue.managers { activity[manager.id] = try client("activity", as: "manager:\(manager.id)") }
    self.contacts = Crm_Contacts_V1_Contacts.Client(wrapping: contacts)
    self.deals = Crm_Deals_V1_Deals.Client(wrapping: deals)
    self.catalogue = Crm_Activity_V1_Activity.Client(wrapping: catalogue)
    self.activity = activity.mapValues { Crm_Activity_V1_Activity.Client(wrapping: $0) }
    let qcHead = try client("quality-control", as: "qc_head:history-qc")
    self.qcHead = Crm_Qualitycontrol_V1_QualityControl.Client(wrapping: qcHead)
    reviewer = { number in try client("quality-control", as: "qc_reviewer:history-r\(number)") }
    all = [contacts, deals, catalogue, qcHead] + Array(activity.values)
  }

  /// Runs `body` while the clients' connections run; shuts them down after. When `body` fails
  /// after a client's connections did (its calls then fail only with "client stopped"), the
  /// error names that first failure.
  func whileConnected<Result: Sendable>(_ body: @Sendable () async throws -> Result) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
      for client in all {
        group.addTask {
          try await client.runConnections()
          return nil
        }
      }
      defer { for client in all { client.beginGracefulShutdown() } }
      do {
        return try await body()
      } catch {
        for client in all { client.beginGracefulShutdown() }
        var connection: (any Error)?
        while let result = await group.nextResult() {
          if case .failure(let failure) = result, connection == nil { connection = failure }
        }
        guard let connection else { throw error }
        throw HistoryError("a client's connections failed (\(connection)), then: \(error)")
      }
    }
  }
}

/// A call's `crm-request-id`: a repeated request answers its first result (DESIGN §5), so a
/// re-run of the same seed creates nothing new.
func requestID(_ seed: UInt64, _ parts: Any...) -> Metadata {
  var metadata = Metadata()
  metadata.addString("history-\(seed)-" + parts.map { "\($0)" }.joined(separator: "-"), forKey: "crm-request-id")
  return metadata
}
