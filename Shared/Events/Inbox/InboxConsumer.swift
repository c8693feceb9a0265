import CRMContracts
import CRMDatabase
import CRMKafka
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import SwiftProtobuf

/// An event as a consumer's handler sees it.
public struct ReceivedEvent: Sendable {
  public var envelope: Crm_Events_V1_EventEnvelope
  public var topic: String
  public var partition: Int32
  public var offset: Int64
}

/// A handler's verdict that an event can never be applied (bad content): it goes to the dead
/// letter topic. Any other error is taken as passing trouble and the event is retried.
public struct EventRejected: Error, Sendable, CustomStringConvertible {
  public var reason: String
  public init(_ reason: String) { self.reason = reason }
  public var description: String { reason }
}

/// Applies events exactly once (DESIGN §5): each event is applied and recorded as
/// `(consumer, event_id)` in the same transaction (`ON CONFLICT DO NOTHING` → already applied,
/// skipped), and the Kafka offset is committed only after the database commit. Records that
/// cannot be decoded or that the handler rejects go to `crm.dlq.<consumer>`; the consumer goes on.
public final class InboxConsumer: Service, Sendable {
  public typealias Handler = @Sendable (ReceivedEvent, PostgresConnection) async throws -> Void

  public static let migrations = [
    Migration(
      version: 10_002,
      name: "inbox",
      statements: [
        """
        CREATE TABLE inbox (
          consumer text NOT NULL,
          event_id text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (consumer, event_id)
        )
        """
      ]
    )
  ]

  private let name: String
  private let groupID: String
  private let topics: [String]
  private let client: PostgresClient
  private let kafka: KafkaConfiguration
  private let producer: KafkaProducer
  private let handler: Handler
  private let logger: Logger

  /// `groupID` defaults to `crm.inbox.<name>`; a new group id re-reads the topics from the
  /// start, which the inbox turns into no change at all.
  public init(
    name: String,
    topics: [String],
    client: PostgresClient,
    kafka: KafkaConfiguration,
    deadLetterProducer: KafkaProducer,
    groupID: String? = nil,
    logger: Logger,
    handler: @escaping Handler
  ) {
    self.name = name
    self.groupID = groupID ?? "crm.inbox.\(name)"
    self.topics = topics
    self.client = client
    self.kafka = kafka
    self.producer = deadLetterProducer
    self.handler = handler
    self.logger = logger
  }

  public var deadLetterTopic: String { "crm.dlq.\(name)" }

  public func run() async throws {
    let admin = try KafkaAdmin(configuration: kafka, logger: logger)
    try await admin.createTopics([deadLetterTopic], partitions: 1)
    let consumer = try await KafkaConsumer(
      configuration: kafka,
      subscription: .group(id: groupID, topics: topics),
      fetchWait: .milliseconds(20),
      logger: logger
    )
    do {
      try await consume(from: consumer)
    } catch {
      await consumer.close()  // leave the group, or its partitions wait for the session timeout
      throw error
    }
    await consumer.close()
  }

  private func consume(from consumer: KafkaConsumer) async throws {
    while !Task.isCancelled && !Task.isShuttingDownGracefully {
      let batch = try await consumer.poll(maximum: 500, timeout: .milliseconds(100))
      guard !batch.isEmpty else { continue }
      var next: [String: (topic: String, partition: Int32, offset: Int64)] = [:]
      for record in batch {
        try await process(record)
        next["\(record.topic)/\(record.partition)"] = (record.topic, record.partition, record.offset + 1)
      }
      do {
        try await consumer.commit(Array(next.values))
      } catch {
        logger.warning("inbox \(name): offset commit failed (records will come again, and be skipped): \(error)")
      }
    }
  }

  /// Applies one record, retrying passing trouble until it is applied, skipped or dead-lettered.
  private func process(_ record: KafkaConsumerMessage) async throws {
    let envelope: Crm_Events_V1_EventEnvelope
    do {
      envelope = try Crm_Events_V1_EventEnvelope(serializedBytes: record.value)
      guard !envelope.eventID.isEmpty else { throw EventRejected("the envelope has no event_id") }
      guard !envelope.type.isEmpty else { throw EventRejected("the envelope has no type") }
    } catch {
      return try await deadLetter(record, error: "undecodable event: \(error)")
    }
    let event = ReceivedEvent(
      envelope: envelope,
      topic: record.topic,
      partition: record.partition,
      offset: record.offset
    )
    var backoff = Duration.milliseconds(100)
    while true {
      do {
        try await client.withTransaction(logger: logger) { connection in
          let fresh = try await connection.query(
            """
            INSERT INTO inbox (consumer, event_id) VALUES (\(name), \(envelope.eventID))
            ON CONFLICT DO NOTHING RETURNING 1
            """,
            logger: logger
          ).collect()
          guard !fresh.isEmpty else { return }  // applied before: a duplicate or a replay
          try await handler(event, connection)
        }
        return
      } catch {
        let cause = (error as? PostgresTransactionError)?.closureError ?? error
        if let rejected = cause as? EventRejected {
          return try await deadLetter(record, error: "rejected: \(rejected.reason)")
        }
        try Task.checkCancellation()
        logger.warning("inbox \(name): \(String(reflecting: cause)); retrying in \(backoff)")
        try await Task.sleep(for: backoff)
        backoff = min(backoff * 2, .seconds(5))
      }
    }
  }

  private func deadLetter(_ record: KafkaConsumerMessage, error: String) async throws {
    logger.warning(
      "inbox \(name): dead-lettered a record",
      metadata: ["error": "\(error)", "origin": "\(record.topic)/\(record.partition)/\(record.offset)"]
    )
    _ = try await producer.send(
      KafkaProducerMessage(
        topic: deadLetterTopic,
        key: record.key,
        value: record.value,
        headers: record.headers + [
          KafkaHeader(key: "crm-dlq-error", string: error),
          KafkaHeader(key: "crm-dlq-origin", string: "\(record.topic)/\(record.partition)/\(record.offset)"),
          KafkaHeader(key: "crm-dlq-consumer", string: name),
        ]
      )
    )
  }
}
