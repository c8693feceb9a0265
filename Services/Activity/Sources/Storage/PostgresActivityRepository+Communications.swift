import CRMContracts
import CRMDomain
import CRMEvents
import Foundation
import PostgresNIO

/// Calls and e-mails from the webhooks: stored once per provider event, linked to their contact.
extension PostgresActivityRepository: CommunicationStore {
  /// Known contacts' calls and mails that arrive together are stored together (`GroupCommit`,
  /// `receiveKnown`); the rest, and each of a batch that failed, alone (`receiveAlone`).
  func receive(_ communication: Communication) async throws -> (reply: WebhookReply, replay: Bool) {
    let repository = self
    let stored = try await commits.communications.write(
      communication, logger: logger, batch: { try await repository.receiveKnown($0) },
      alone: { try await repository.receiveAlone($0) })
    if let stored { return stored }
    return try await receiveAlone(communication)
  }

  /// A batch in two round trips (`ContactsOfAddresses`, `StoreKnownCommunications`) and one
  /// commit; nil for a communication it leaves to `receiveAlone`: one of no known contact, or a
  /// second of the same provider event in the batch (it answers the first's reply then).
  func receiveKnown(_ batch: [Communication]) async throws -> [(reply: WebhookReply, replay: Bool)?] {
    try await client.withConnection { connection in
      var contacts: [String: UUID] = [:]
      let addresses = Array(Set(batch.map(\.counterpart)))
      for try await (address, contact) in try await connection.execute(
        ContactsOfAddresses(addresses: addresses), logger: logger)
      {
        contacts[address] = contact
      }
      var events = Set<String>()
      var rows: [(position: Int, row: StoreKnownCommunication)] = []
      for (position, communication) in batch.enumerated() {
        guard let contact = contacts[communication.counterpart],
          events.insert("\(communication.channel.rawValue) \(communication.eventID)").inserted
        else { continue }
        rows.append((position, try Self.known(communication, from: contact)))
      }
      var outcomes = [(reply: WebhookReply, replay: Bool)?](repeating: nil, count: batch.count)
      guard !rows.isEmpty else { return outcomes }
      // In one order for every batch: two batches holding the same new events wait for each
      // other's keys in the same order, never crosswise.
      rows.sort {
        ($0.row.communication.channel.rawValue, $0.row.communication.eventID)
          < ($1.row.communication.channel.rawValue, $1.row.communication.eventID)
      }
      var stored = Set<UUID>()
      for try await id in try await connection.execute(
        StoreKnownCommunications(rows: rows.map(\.row)), logger: logger)
      {
        stored.insert(id)
      }
      for (position, row) in rows {
        outcomes[position] =
          stored.contains(row.id)
          ? (Self.reply(of: row), false) : (try await firstReply(to: row.communication, on: connection), true)
      }
      return outcomes
    }
  }

  /// One communication in its own transaction(s): a known contact's in one statement after the
  /// lookup, an unknown number's or address's as the rules for them say.
  func receiveAlone(_ communication: Communication) async throws -> (reply: WebhookReply, replay: Bool) {
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
      let details = JSONText.object(communication.details)
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
      let replyJSON = reply.json
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
    let row = try Self.known(communication, from: contact)
    let stored = try await connection.execute(row, logger: logger).first { _ in true }
    guard stored == 0 else { return (Self.reply(of: row), false) }
    return (try await firstReply(to: communication, on: connection), true)
  }

  /// What storing a known contact's communication writes, made before the write: its row's id,
  /// its reply, and for a finished call or a mail its activity and `ActivityLogged`.
  static func known(_ communication: Communication, from contact: UUID) throws -> StoreKnownCommunication {
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
    return StoreKnownCommunication(
      id: id, communication: communication, details: JSONText.object(communication.details), contact: contact,
      reply: reply.json, activity: activity)
  }

  /// The reply a stored `row` answers.
  static func reply(of row: StoreKnownCommunication) -> WebhookReply {
    var reply = WebhookReply(status: "recorded", id: row.id.text, contactID: row.contact.text)
    if let activity = row.activity {
      reply.status = "logged"
      reply.activityID = activity.record.id
    }
    return reply
  }

  /// The reply stored with the first delivery of a provider event.
  private func firstReply(to communication: Communication, on connection: PostgresConnection) async throws
    -> WebhookReply
  {
    let rows = try await connection.query(
      """
      SELECT reply::text FROM communications WHERE channel = \(communication.channel.rawValue)
        AND provider_event_id = \(communication.eventID)
      """, logger: logger)
    guard let first = try await rows.decode(String.self).first(where: { _ in true }) else {
      throw RuleBroken(description: "webhook event \(communication.eventID) is neither new nor stored")
    }
    return try JSONDecoder().decode(WebhookReply.self, from: Data(first.utf8))
  }
}
