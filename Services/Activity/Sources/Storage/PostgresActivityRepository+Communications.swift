import CRMContracts
import CRMDomain
import CRMEvents
import Foundation
import PostgresNIO

/// Calls and e-mails from the webhooks: stored once per provider event, linked to their contact.
extension PostgresActivityRepository: CommunicationStore {
  func receive(_ communication: Communication) async throws -> (reply: WebhookReply, replay: Bool) {
    let links = CommunicationLinks(logger: logger)
    // The common case, a known contact's call or mail, is one statement after the lookup, on
    // the same connection; the rest (unknown numbers, starts of calls) one transaction of a few.
    let known = try await client.withConnection { connection -> (reply: WebhookReply, replay: Bool)? in
      guard let contact = try await links.contact(of: communication.counterpart, on: connection) else { return nil }
      return try await receive(communication, from: contact, on: connection)
    }
    if let known { return known }
    return try await client.withTransaction(logger: logger) { connection in
      let id = UUID()
      let channel = communication.channel.rawValue
      let details = String(
        decoding: try JSONSerialization.data(withJSONObject: communication.details, options: [.sortedKeys]),
        as: UTF8.self)
      // The key decides: a concurrent repeat waits for the first's commit, then inserts nothing.
      let inserted = try await connection.query(
        """
        INSERT INTO communications (id, channel, provider_event_id, event, direction, counterpart, details, summary,
                                    logged, occurred_at, manager_id, reply)
        VALUES (\(id), \(channel), \(communication.eventID), \(communication.event), \(communication.direction),
                \(communication.counterpart), \(details)::jsonb, \(communication.summary), \(communication.logged),
                \(communication.occurredAt), \(communication.managerID), '{}'::jsonb)
        ON CONFLICT (channel, provider_event_id) DO NOTHING RETURNING id
        """, logger: logger
      ).collect()
      guard !inserted.isEmpty else {
        let rows = try await connection.query(
          """
          SELECT reply::text FROM communications
          WHERE channel = \(channel) AND provider_event_id = \(communication.eventID)
          """, logger: logger)
        guard let stored = try await rows.decode(String.self).first(where: { _ in true }) else {
          throw RuleBroken(description: "webhook event \(communication.eventID) is neither new nor stored")
        }
        return (try JSONDecoder().decode(WebhookReply.self, from: Data(stored.utf8)), true)
      }

      var reply = WebhookReply(status: "unmatched", id: id.uuidString.lowercased())
      var contact: UUID?
      var activity: UUID?
      var lead: String?
      if let known = try await links.contact(of: communication.counterpart, on: connection) {
        contact = known
        reply.contactID = known.uuidString.lowercased()
        reply.status = "recorded"
        if communication.logged {
          activity = try await links.log(
            kind: communication.channel == .telephony ? .call : .email, summary: communication.summary,
            occurredAt: communication.occurredAt, manager: communication.managerID, contact: known, on: connection)
          reply.activityID = activity?.uuidString.lowercased()
          reply.status = "logged"
        }
      } else if communication.channel == .telephony && communication.direction == "in" {
        // An unknown caller: his number waits for its lead (made once per number by
        // `UnknownCallers`), in this transaction, so a committed call always has it.
        _ = try await connection.query(
          """
          INSERT INTO unknown_callers (number, manager_id, first_call_at)
          VALUES (\(communication.counterpart), \(communication.managerID), \(communication.occurredAt))
          ON CONFLICT (number) DO NOTHING
          """, logger: logger
        ).collect()
        let rows = try await connection.query(
          "SELECT lead_id FROM unknown_callers WHERE number = \(communication.counterpart)", logger: logger)
        lead = try await rows.decode(String?.self).first(where: { _ in true }) ?? nil
        reply.leadID = lead
        reply.status = "awaiting_lead"
      }
      let replyJSON = String(decoding: try JSONEncoder().encode(reply), as: UTF8.self)
      _ = try await connection.query(
        """
        UPDATE communications SET contact_id = \(contact), activity_id = \(activity), lead_id = \(lead),
          reply = \(replyJSON)::jsonb
        WHERE id = \(id)
        """, logger: logger
      ).collect()
      return (reply, false)
    }
  }

  /// A known contact's communication in one statement (`StoreKnownCommunication`): the row, and
  /// for a finished call or a mail its activity and `ActivityLogged`. A repeat reads the first
  /// reply.
  private func receive(_ communication: Communication, from contact: UUID, on connection: PostgresConnection)
    async throws -> (reply: WebhookReply, replay: Bool)
  {
    let id = UUID()
    var reply = WebhookReply(status: "recorded", id: id.text, contactID: contact.text)
    var activity: (id: UUID, record: Crm_Activity_V1_ActivityRecord, recordedAt: Date, event: OutboxEvent)?
    if communication.logged {
      // The database keeps microseconds: the event carries what a read gives.
      let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 * 1_000_000).rounded() / 1_000_000)
      let record = CommunicationLinks.record(communication, contact: contact, recordedAt: now)
      let event = try ActivityEvents.event(
        aggregateID: record.id, version: 1, actor: record.author,
        Crm_Activity_V1_ActivityLogged.with { $0.activity = record })
      if let activityID = UUID(uuidString: record.id) {
        activity = (activityID, record, record.recordedAt.date, event)
      }
      reply.status = "logged"
      reply.activityID = record.id
    }
    let details = String(
      decoding: try JSONSerialization.data(withJSONObject: communication.details, options: [.sortedKeys]), as: UTF8.self
    )
    let replyJSON = String(decoding: try JSONEncoder().encode(reply), as: UTF8.self)
    let stored = try await connection.execute(
      StoreKnownCommunication(
        id: id, communication: communication, details: details, contact: contact, reply: replyJSON,
        activity: activity),
      logger: logger
    ).first { _ in true }
    guard stored == 0 else { return (reply, false) }
    let rows = try await connection.query(
      """
      SELECT reply::text FROM communications WHERE channel = \(communication.channel.rawValue)
        AND provider_event_id = \(communication.eventID)
      """, logger: logger)
    guard let first = try await rows.decode(String.self).first(where: { _ in true }) else {
      throw RuleBroken(description: "webhook event \(communication.eventID) is neither new nor stored")
    }
    return (try JSONDecoder().decode(WebhookReply.self, from: Data(first.utf8)), true)
  }
}
