import CRMContracts
import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMKafka
import CRMReview
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Logging
import PostgresNIO
import SwiftProtobuf
import Synchronization

@testable import ReportingService

/// Calls as the principal `SwitchingCaller.principal` names for the calling task: one client,
/// several callers.
final class SwitchingCaller: ClientInterceptor, Sendable {
  @TaskLocal static var principal = "head_of_sales:head-1"
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

/// Reporting's RPC service on a fresh schema of the real crm_reporting database, in process;
/// events arrive the way the inbox hands them over, through the same batch handler.
enum ReportingHarness {
  static let logger = Logger(label: "reporting-test")
  /// The review code key the tests' services share (`TestIdentity.reviewCodeKey`).
  static let repCodes = try! ReviewCodes(key: Array(TestIdentity.reviewCodeKey.utf8))

  struct Context {
    let reporting: Crm_Reporting_V1_Reporting.Client<InProcessTransport.Client>
    let database: PostgresClient

    /// Runs `body` calling as `principal` ("role:subject").
    func `as`<T: Sendable>(_ principal: String, _ body: () async throws -> T) async throws -> T {
      try await SwitchingCaller.$principal.withValue(principal) { try await body() }
    }

    func count(_ query: PostgresQuery) async throws -> Int { try await database.count(query) }

    /// Applies `events` as one inbox batch would, in one transaction.
    func deliver(_ events: [ReceivedEvent]) async throws {
      do {
        try await database.withTransaction(logger: logger) { connection in
          try await ReportingEventsHandler(logger: logger).apply(events, on: connection)
        }
      } catch let error as PostgresTransactionError {
        throw error.closureError ?? error
      }
    }

    /// Every projection table's rows as text, ordered: equal dumps, equal read models.
    func dumpProjections() async throws -> [String: String] {
      var dump: [String: String] = [:]
      for table in ReportingSchema.projectionTables {
        let counting = ReportingSchema.sumTables[table] ?? "true"
        let rows = try await database.query(
          PostgresQuery(
            unsafeSQL:
              "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM \(table) t WHERE \(counting)"))
        dump[table] = try await rows.decode(String.self).first { _ in true } ?? ""
      }
      return dump
    }
  }

  static func with(_ body: (Context) async throws -> Void) async throws {
    try await TestSchema.with(database: "reporting") { makeClient in
      let database = makeClient()
      try await whileRunning(database) {
        try await MigrationRunner.apply(
          ServiceApplication.kitMigrations + ReportingComponents.migrations, on: database, logger: logger)
        let transport = InProcessTransport()
        let server = GRPCServer(
          transport: transport.server,
          services: [ReportingComponents.rpcService(client: database, logger: logger, codes: repCodes)],
          interceptors: RPCServerService.interceptors(
            verifier: TestIdentity.verifier(for: .reporting),
            policy: AccessPolicy.diagnostics.merging(ReportingComponents.access)))
        let client = GRPCClient(transport: transport.client, interceptors: [SwitchingCaller()])
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask { try await server.serve() }
          group.addTask { try await client.runConnections() }
          defer {
            client.beginGracefulShutdown()
            server.beginGracefulShutdown()
          }
          try await body(Context(reporting: Crm_Reporting_V1_Reporting.Client(wrapping: client), database: database))
        }
      }
    }
  }
}

/// Envelopes as the other services publish them, at chosen times and versions.
enum Envelopes {
  static let offset = Atomic<Int64>(0)

  static func event(
    _ payload: some Message, topic: String, aggregateID: String, version: Int64, at occurredAt: Date?,
    type: String? = nil, payloadBytes: [UInt8]? = nil, eventID: String = UUID().uuidString.lowercased()
  ) throws -> ReceivedEvent {
    var envelope = Crm_Events_V1_EventEnvelope()
    envelope.eventID = eventID
    envelope.type = type ?? Swift.type(of: payload).protoMessageName
    if let occurredAt { envelope.occurredAt = Google_Protobuf_Timestamp(date: occurredAt) }
    envelope.aggregateID = aggregateID
    envelope.actor = "test"
    envelope.payload = Data(try payloadBytes ?? payload.serializedBytes())
    envelope.aggregateVersion = version
    let bytes: [UInt8] = try envelope.serializedBytes()
    let offset = Self.offset.add(1, ordering: .relaxed).newValue
    return ReceivedEvent(
      envelope: envelope,
      record: KafkaConsumerMessage(
        topic: topic, partition: 0, offset: offset, key: Array(aggregateID.utf8), value: bytes, headers: []))
  }
}
