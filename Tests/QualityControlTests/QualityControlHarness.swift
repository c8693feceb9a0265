import CRMContracts
import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMKafka
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import PostgresNIO
import SwiftProtobuf
import Synchronization

@testable import QualityControlService

/// Calls as the principal `SwitchingCaller.principal` names for the calling task: one client,
/// several reviewers.
final class SwitchingCaller: ClientInterceptor, Sendable {
  @TaskLocal static var principal = "qc_head:head-1"
  private let callers = Mutex<[String: TokenClientInterceptor]>([:])

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    let name = Self.principal
    let caller = callers.withLock { cache in
      if let known = cache[name] { return known }
      let made = TestIdentity.caller(name)
      cache[name] = made
      return made
    }
    return try await caller.intercept(request: request, context: context, next: next)
  }
}

/// Quality-control's RPC service on a fresh schema of the real crm_quality_control database, in
/// process; review items arrive the way the service takes them, through its items handler.
enum QualityControlHarness {
  static let logger = Logger(label: "quality-control-test")

  struct Context {
    let qc: Crm_Qualitycontrol_V1_QualityControl.Client<InProcessTransport.Client>
    let database: PostgresClient
    let settings: QualityControlSettings
    var repository: PostgresQualityControlRepository {
      PostgresQualityControlRepository(client: database, logger: logger, settings: settings)
    }

    /// Runs `body` calling as `principal` ("role:subject").
    func `as`<T: Sendable>(_ principal: String, _ body: () async throws -> T) async throws -> T {
      try await SwitchingCaller.$principal.withValue(principal) { try await body() }
    }

    func count(_ query: PostgresQuery) async throws -> Int { try await database.count(query) }

    func events(_ type: String) async throws -> [Crm_Events_V1_EventEnvelope] {
      try await database.outboxEvents(type)
    }

    /// Applies a review item as the inbox would (without its event-id check), in a transaction.
    func deliver(_ item: Crm_Qualitycontrol_V1_ReviewItem, type: String? = nil, aggregateID: String? = nil)
      async throws
    {
      let received = try QualityControlHarness.received(item, type: type, aggregateID: aggregateID)
      do {
        try await database.withTransaction(logger: logger) { connection in
          try await ReviewItemsHandler(repository: repository).apply(received, on: connection)
        }
      } catch let error as PostgresTransactionError {
        throw error.closureError ?? error
      }
    }

    /// Greeting, needs found out (0–5), objection handled, next step agreed: defined by the QC head.
    @discardableResult
    func defineRubric(expectedVersion: Int64 = 0) async throws -> Crm_Qualitycontrol_V1_Rubric {
      try await `as`("qc_head:head-1") {
        try await qc.defineRubric(QualityControlHarness.rubricRequest(expectedVersion: expectedVersion))
      }
    }
  }

  static func rubricRequest(expectedVersion: Int64 = 0) -> Crm_Qualitycontrol_V1_DefineRubricRequest {
    .with {
      $0.name = "Meeting and call report"
      $0.expectedVersion = expectedVersion
      $0.criteria = [
        ("greeting", "Greeting", 1, 2), ("needs", "Needs found out", 3, 5), ("objection", "Objection handled", 2, 5),
        ("next_step", "Next step agreed", 2, 2),
      ].map { key, label, weight, scale in
        .with {
          $0.key = key
          $0.label = label
          $0.weight = Int32(weight)
          $0.scaleMax = Int32(scale)
        }
      }
    }
  }

  /// An envelope on `crm.qc.review-items` as activity would publish it.
  static func received(_ item: Crm_Qualitycontrol_V1_ReviewItem, type: String? = nil, aggregateID: String? = nil)
    throws -> ReceivedEvent
  {
    let event = try OutboxEvent(
      topic: EventTopics.qcReviewItems, aggregateID: aggregateID ?? item.itemID, aggregateVersion: 1,
      actor: "service:activity", payload: item)
    var envelope = try Crm_Events_V1_EventEnvelope(serializedBytes: event.envelope)
    if let type { envelope.type = type }
    return ReceivedEvent(
      envelope: envelope,
      record: KafkaConsumerMessage(
        topic: event.topic, partition: 0, offset: 0, key: Array(event.key.utf8), value: event.envelope, headers: []))
  }

  /// A fresh code: 16 base32 characters.
  static func code() -> String {
    var generator = SystemRandomNumberGenerator()
    return code(using: &generator)
  }

  /// A code from `generator` (a seeded one makes a run repeatable, its double reviews too).
  static func code(using generator: inout some RandomNumberGenerator) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    return String((0..<16).map { _ in alphabet[Int.random(in: 0..<32, using: &generator)] })
  }

  static func item(
    id: String = code(), rep: String = code(), text: String = "[REP] met [CLIENT] of [COMPANY]; call back at [PHONE]",
    occurredAt: Date = Date(timeIntervalSinceNow: -3600)
  ) -> Crm_Qualitycontrol_V1_ReviewItem {
    .with {
      $0.itemID = id
      $0.kind = .meeting
      $0.occurredAt = Google_Protobuf_Timestamp(date: occurredAt)
      $0.repCode = rep
      $0.clientCode = code()
      $0.companyCode = code()
      $0.dealCode = code()
      $0.redactedText = text
      $0.context = ["meeting_place": "Office"]
    }
  }

  /// Scores for every criterion of `rubric` (`value` cut to each scale).
  static func scores(_ rubric: Crm_Qualitycontrol_V1_Rubric, _ value: Int32 = 2) -> [Crm_Qualitycontrol_V1_Score] {
    rubric.criteria.map { criterion in
      .with {
        $0.criterion = criterion.key
        $0.value = min(value, criterion.scaleMax)
      }
    }
  }

  static func with(
    settings: QualityControlSettings = QualityControlSettings(leaseSeconds: 900, doubleReviewShare: 0),
    _ body: (Context) async throws -> Void
  ) async throws {
    try await TestSchema.with(database: "quality-control") { makeClient in
      let database = makeClient()
      try await whileRunning(database) {
        try await MigrationRunner.apply(
          ServiceApplication.kitMigrations + QualityControlComponents.migrations, on: database, logger: logger)
        let transport = InProcessTransport()
        let server = GRPCServer(
          transport: transport.server,
          services: [QualityControlComponents.rpcService(client: database, logger: logger, settings: settings)],
          interceptors: RPCServerService.interceptors(
            verifier: TestIdentity.verifier(for: .qualityControl),
            policy: AccessPolicy.diagnostics.merging(QualityControlComponents.access)))
        let client = GRPCClient(transport: transport.client, interceptors: [SwitchingCaller()])
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await server.serve() }
          group.addTask { try await client.runConnections() }
          defer {
            client.beginGracefulShutdown()
            server.beginGracefulShutdown()
          }
          try await body(
            Context(
              qc: Crm_Qualitycontrol_V1_QualityControl.Client(wrapping: client), database: database,
              settings: settings))
        }
      }
    }
  }
}
