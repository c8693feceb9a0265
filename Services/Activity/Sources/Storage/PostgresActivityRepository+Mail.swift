import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import CRMMail
import Foundation
import PostgresNIO
import SwiftProtobuf

/// Who mail is sent as (from `CRM_SMTP_FROM`); the service has one only with an SMTP server.
struct MailSender: Sendable {
  var from: MailAddress
  var name: String
}

/// One mail the background sender claimed: its recipient and its bytes as rendered.
struct ClaimedMail: Sendable {
  var id: UUID
  var recipient: String
  var message: [UInt8]
  var attempts: Int
  var createdAt: Date
}

/// Mail: logged as an activity of kind email and, with an SMTP server, written to
/// `outgoing_mail` in the same transaction for the background sender.
extension PostgresActivityRepository {
  /// What `decodeMail` reads from `outgoing_mail m`, in its order.
  static let mailColumns = """
    m.id, m.activity_id, m.contact_id, m.deal_id, m.recipient, m.subject, m.message_id, m.status, m.last_error,
    m.attempts, m.created_at, m.sent_at
    """

  func sendEmail(_ email: EmailInput.NewEmail, sender: MailSender?, by principal: Principal, now: Date) async throws
    -> Crm_Activity_V1_SendEmailReply
  {
    try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        let about = try await subject(contact: email.contactID, deal: email.dealID, on: connection)
        try Self.checkMay(principal, workOn: about.what, ownedBy: about.owner)
        let to = try await recipient(email.to, of: about.contact, on: connection)
        let activity = try await insertActivity(
          kind: .email, contact: about.contact, deal: email.dealID, text: email.activityText, occurredAt: now,
          author: principal.description, authorID: principal.subject, on: connection)
        let mail: Crm_Activity_V1_Email
        if let sender {
          mail = try await enqueueMail(
            MailMessage(
              from: sender.from, fromName: sender.name, to: to, subject: email.subject, body: email.body,
              messageID: "", date: now),
            purpose: "email", activity: activity, requestedBy: principal.description, on: connection)
        } else {
          mail = .with {
            $0.activityID = activity.id
            $0.contactID = activity.contactID
            $0.dealID = activity.dealID
            $0.to = to.text
            $0.subject = email.subject
            $0.status = .notSent
            $0.reason = Self.notConfigured
          }
        }
        let reply = Crm_Activity_V1_SendEmailReply.with {
          $0.activity = activity
          $0.email = mail
        }
        try await RequestReplies.record(reply, key: key, on: connection, logger: logger)
        return reply
      }
    }
  }

  static let notConfigured = "not sent: the service has no SMTP server configured (CRM_SMTP_URL is not set)"

  /// `given`, else the contact's first address on record; FAILED_PRECONDITION when there is
  /// none or it cannot be sent to.
  func recipient(_ given: MailAddress?, of contact: UUID, on connection: PostgresConnection) async throws
    -> MailAddress
  {
    if let given { return given }
    guard let stored = try await mailAddress(of: contact, on: connection) else {
      throw RuleBroken(description: "contact \(contact.text) has no e-mail address on record; give one in `to`")
    }
    switch MailAddress.parse(stored) {
    case .success(let address): return address
    case .failure(let problem):
      throw RuleBroken(
        description: "contact \(contact.text)'s address \(Text.quoted(stored)) cannot be sent to (\(problem)); "
          + "give one in `to`")
    }
  }

  func mailAddress(of contact: UUID, on connection: PostgresConnection) async throws -> String? {
    let rows = try await connection.query(
      "SELECT address FROM contact_mail_addresses WHERE contact_id = \(contact)", logger: logger)
    return try await rows.decode(String.self).first { _ in true }
  }

  /// Records an activity the service writes itself (no context attributes) with its event.
  func insertActivity(
    kind: Crm_Activity_V1_ActivityKind, contact: UUID, deal: UUID?, text: String, occurredAt: Date, author: String,
    authorID: String, on connection: PostgresConnection
  ) async throws -> Crm_Activity_V1_ActivityRecord {
    let rows = try await connection.query(
      """
      INSERT INTO activities AS a (id, kind, contact_id, deal_id, author, author_id, text, context, occurred_at)
      VALUES (\(UUID()), \(kind.text), \(contact), \(deal), \(author), \(authorID), \(text), '{}'::jsonb, \(occurredAt))
      RETURNING \(unescaped: Self.activityColumns)
      """,
      logger: logger)
    guard let record = try await decodeActivities(rows).first?.activity else {
      throw RuleBroken(description: "the activity was not stored")
    }
    try await publish(
      Crm_Activity_V1_ActivityLogged.with { $0.activity = record }, aggregateID: record.id, version: 1, actor: author,
      on: connection)
    return record
  }

  /// Writes `message` (its Message-ID made from the new mail's id) for the background sender.
  func enqueueMail(
    _ message: MailMessage, purpose: String, activity: Crm_Activity_V1_ActivityRecord, requestedBy: String,
    on connection: PostgresConnection
  ) async throws -> Crm_Activity_V1_Email {
    let id = UUID()
    var message = message
    message.messageID = MailMessage.messageID(for: id, from: message.from)
    let rows = try await connection.query(
      """
      INSERT INTO outgoing_mail AS m (id, activity_id, contact_id, deal_id, purpose, recipient, subject, message_id,
                                      message, status, requested_by)
      VALUES (\(id), \(UUID(uuidString: activity.id)), \(UUID(uuidString: activity.contactID)),
              \(UUID(uuidString: activity.dealID)), \(purpose), \(message.to.text), \(message.subject),
              \(message.messageID), \(ByteBuffer(bytes: message.rendered)), 'pending', \(requestedBy))
      RETURNING \(unescaped: Self.mailColumns)
      """,
      logger: logger)
    guard let mail = try await decodeMail(rows).first else { throw RuleBroken(description: "the mail was not stored") }
    return mail
  }

  func email(id: String) async throws -> Crm_Activity_V1_Email {
    let mailID = try UUID(id, of: "email")
    let rows = try await client.query(
      "SELECT \(unescaped: Self.mailColumns) FROM outgoing_mail m WHERE m.id = \(mailID)", logger: logger)
    guard let mail = try await decodeMail(rows).first else { throw NotFound(entity: "email", id: id) }
    return mail
  }

  /// Up to `limit` mails due now, each leased for `lease` (another sender skips it meanwhile;
  /// a sender that died mid-send leaves it to be tried again when the lease runs out).
  func claimDueMail(limit: Int, lease: Duration) async throws -> [ClaimedMail] {
    let rows = try await client.query(
      """
      UPDATE outgoing_mail SET attempts = attempts + 1,
        next_attempt_at = now() + make_interval(secs => \(Double(lease.components.seconds)))
      WHERE id IN (SELECT id FROM outgoing_mail WHERE status = 'pending' AND next_attempt_at <= now()
                   ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
      RETURNING id, recipient, message, attempts, created_at
      """,
      logger: logger)
    var claimed: [ClaimedMail] = []
    for try await (id, recipient, message, attempts, createdAt) in rows.decode(
      (UUID, String, ByteBuffer, Int32, Date).self)
    {
      claimed.append(
        ClaimedMail(
          id: id, recipient: recipient, message: Array(buffer: message), attempts: Int(attempts), createdAt: createdAt))
    }
    return claimed
  }

  /// The server took the mail: sent, with `EmailSent`.
  func recordSent(_ id: UUID, now: Date) async throws {
    try await finish(id, status: "sent", reason: "", now: now) { mail in
      Crm_Activity_V1_EmailSent.with { $0.email = mail }
    }
  }

  /// The server refused the mail for good (or it was given up): failed, with `EmailFailed`.
  func recordFailed(_ id: UUID, reason: String, now: Date) async throws {
    try await finish(id, status: "failed", reason: reason, now: now) { mail in
      Crm_Activity_V1_EmailFailed.with { $0.email = mail }
    }
  }

  /// Not sent this time: tried again at `retryAt`.
  func recordRetry(_ id: UUID, reason: String, at retryAt: Date) async throws {
    _ = try await client.query(
      """
      UPDATE outgoing_mail SET next_attempt_at = \(retryAt), last_error = \(String(reason.prefix(1000)))
      WHERE id = \(id) AND status = 'pending'
      """,
      logger: logger
    ).collect()
  }

  private func finish<Event: SwiftProtobuf.Message & Sendable>(
    _ id: UUID, status: String, reason: String, now: Date, event: (Crm_Activity_V1_Email) -> Event
  ) async throws {
    try await client.withTransaction(logger: logger) { connection in
      let rows = try await connection.query(
        """
        UPDATE outgoing_mail AS m SET status = \(status), last_error = \(String(reason.prefix(1000))),
          sent_at = CASE WHEN \(status) = 'sent' THEN \(now) END
        WHERE m.id = \(id) AND m.status = 'pending'
        RETURNING \(unescaped: Self.mailColumns)
        """,
        logger: logger)
      // Already finished (by another sender whose lease ran out meanwhile): nothing more.
      guard let mail = try await decodeMail(rows).first else { return }
      try await publish(event(mail), aggregateID: mail.id, version: 2, actor: "service:activity", on: connection)
    }
  }

  func decodeMail(_ rows: PostgresRowSequence) async throws -> [Crm_Activity_V1_Email] {
    var mails: [Crm_Activity_V1_Email] = []
    for try await row in rows {
      let (
        id, activityID, contactID, dealID, recipient, subject, messageID, status, lastError, attempts, createdAt, sentAt
      ) =
        try row.decode((UUID, UUID?, UUID, UUID?, String, String, String, String, String, Int32, Date, Date?).self)
      mails.append(
        .with {
          $0.id = id.text
          $0.activityID = activityID?.text ?? ""
          $0.contactID = contactID.text
          $0.dealID = dealID?.text ?? ""
          $0.to = recipient
          $0.subject = subject
          $0.messageID = messageID
          $0.status = Crm_Activity_V1_EmailStatus(text: status)
          $0.reason = lastError
          $0.attempts = attempts
          $0.createdAt = createdAt.timestamp
          if let sentAt { $0.sentAt = sentAt.timestamp }
        })
    }
    return mails
  }
}
