import CRMContracts
import CRMDomain
import CRMEvents
import Foundation
import Logging
import PostgresNIO

/// Calls and e-mails becoming activities on their contacts, inside the caller's transaction:
/// when a webhook arrives for a known contact, and later when the directory learns a contact
/// with the number or address (its events, or the conversion of an unknown caller's lead).
struct CommunicationLinks: Sendable {
  let logger: Logger

  /// The contact a number or address belongs to (`ContactOfAddress`).
  func contact(of address: String, on connection: PostgresConnection) async throws -> UUID? {
    try await connection.execute(ContactOfAddress(address: address), logger: logger).first { _ in true }
  }

  /// Replaces the directory's phones and e-mails of a contact (already normalised by contacts).
  func remember(addresses: [String], of contact: UUID, on connection: PostgresConnection) async throws {
    _ = try await connection.query(
      "DELETE FROM contact_addresses WHERE contact_id = \(contact) AND NOT (address = ANY(\(addresses)))",
      logger: logger
    ).collect()
    _ = try await connection.query(
      """
      INSERT INTO contact_addresses (address, contact_id) SELECT unnest(\(addresses)::text[]), \(contact)
      ON CONFLICT DO NOTHING
      """, logger: logger
    ).collect()
  }

  /// Makes activities of the waiting calls and e-mails from these addresses or of this lead on
  /// `contact`. Returns how many.
  @discardableResult
  func attach(addresses: [String], lead: String?, to contact: UUID, on connection: PostgresConnection) async throws
    -> Int
  {
    guard !addresses.isEmpty || lead != nil else { return 0 }
    let rows = try await connection.query(
      """
      SELECT id, channel, summary, occurred_at, manager_id FROM communications
      WHERE activity_id IS NULL AND logged AND (counterpart = ANY(\(addresses)) OR lead_id = \(lead))
      ORDER BY seq FOR UPDATE
      """, logger: logger)
    var waiting: [(UUID, String, String, Date, String)] = []
    for try await row in rows.decode((UUID, String, String, Date, String).self) { waiting.append(row) }
    for (id, channel, summary, occurredAt, manager) in waiting {
      let activity = try await log(
        kind: channel == "telephony" ? .call : .email, summary: summary, occurredAt: occurredAt, manager: manager,
        contact: contact, on: connection)
      _ = try await connection.query(
        "UPDATE communications SET contact_id = \(contact), activity_id = \(activity) WHERE id = \(id)",
        logger: logger
      ).collect()
    }
    return waiting.count
  }

  /// The activity of a call or an e-mail, with its `ActivityLogged`: by the manager the provider
  /// named, else by the activity service itself.
  func log(
    kind: Crm_Activity_V1_ActivityKind, summary: String, occurredAt: Date, manager: String, contact: UUID,
    on connection: PostgresConnection
  ) async throws -> UUID {
    let author = manager.isEmpty ? "service:activity" : "manager:\(manager)"
    let authorID = manager.isEmpty ? "activity" : manager
    let id = UUID()
    let rows = try await connection.query(
      """
      INSERT INTO activities AS a (id, kind, contact_id, author, author_id, text, context, occurred_at)
      VALUES (\(id), \(kind.text), \(contact), \(author), \(authorID), \(summary), '{}'::jsonb, \(occurredAt))
      RETURNING \(unescaped: PostgresActivityRepository.activityColumns)
      """, logger: logger)
    guard let record = try await PostgresActivityRepository.decodeActivities(rows).first?.activity else {
      throw RuleBroken(description: "the activity was not stored")
    }
    try await Outbox.append(
      [
        try ActivityEvents.event(
          aggregateID: record.id, version: 1, actor: author,
          Crm_Activity_V1_ActivityLogged.with { $0.activity = record })
      ], on: connection, logger: logger)
    return id
  }
}

extension CommunicationLinks {
  /// The activity a communication becomes on `contact`, as stored and published (its id new).
  static func record(_ communication: Communication, contact: UUID, recordedAt: Date)
    -> Crm_Activity_V1_ActivityRecord
  {
    .with {
      $0.id = UUID().text
      $0.kind = communication.channel == .telephony ? .call : .email
      $0.contactID = contact.text
      $0.author = communication.managerID.isEmpty ? "service:activity" : "manager:\(communication.managerID)"
      $0.authorID = communication.managerID.isEmpty ? "activity" : communication.managerID
      $0.text = communication.summary
      $0.occurredAt = communication.occurredAt.timestamp
      $0.recordedAt = recordedAt.timestamp
    }
  }
}
