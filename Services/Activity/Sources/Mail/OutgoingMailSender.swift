import CRMMail
import Foundation
import Logging
import ServiceLifecycle

/// Delivers `outgoing_mail` through the SMTP server: claims what is due (several replicas each
/// claim different mail), sends it, and records the outcome. Not sent (server unreachable, 4xx)
/// → tried again after a backoff that doubles up to `retry.maximum`; refused for good (5xx) or
/// still undelivered after `retry.giveUpAfter` → failed with the reason, and `EmailFailed`.
struct OutgoingMailSender: Service {
  struct Retry: Sendable {
    var first: Duration = .seconds(30)
    var maximum: Duration = .seconds(30 * 60)
    /// How long a message may wait for its server, as an MTA's queue lifetime.
    var giveUpAfter: Duration = .seconds(3 * 86_400)

    /// The wait after the `attempts`-th attempt failed.
    func delay(after attempts: Int) -> Duration {
      let doublings = min(max(attempts - 1, 0), 20)
      let seconds = min(
        Double(first.components.seconds) * Double(1 << doublings), Double(maximum.components.seconds))
      return .milliseconds(Int64(max(seconds, 0.05) * 1000))
    }
  }

  let repository: PostgresActivityRepository
  let smtp: SMTPClient
  /// How often it looks for due mail when there was none.
  var poll: Duration = .seconds(2)
  var retry = Retry()

  func run() async throws {
    do {
      try await cancelWhenGracefulShutdown {
        while true {
          let sent = await deliverDue()
          if sent == 0 { try await Task.sleep(for: poll) }
        }
      }
    } catch is CancellationError {
      // Shutting down: a mail being sent is finished by libcurl; a claim not recorded is
      // retried when its lease runs out.
    }
  }

  /// Sends what is due now, up to `batch` mails; returns how many it tried. A database failure
  /// is logged and tried again at the next poll. One mail is claimed at a time: its lease covers
  /// one send, so no other replica takes it while it waits behind others.
  func deliverDue(batch: Int = 20) async -> Int {
    var tried = 0
    do {
      while tried < batch, !Task.isCancelled,
        let mail = try await repository.claimDueMail(limit: 1, lease: smtp.settings.timeout + .seconds(60)).first
      {
        tried += 1
        try await deliver(mail)
      }
    } catch {
      repository.logger.warning("the mail sender failed", metadata: ["error": "\(String(reflecting: error))"])
    }
    return tried
  }

  private func deliver(_ mail: ClaimedMail) async throws {
    let metadata: Logger.Metadata = ["mail": "\(mail.id)", "attempt": "\(mail.attempts)"]
    guard case .success(let recipient) = MailAddress.parse(mail.recipient) else {
      try await repository.recordFailed(mail.id, reason: "the recipient is not an address", now: Date())
      return
    }
    switch await smtp.send(mail.message, to: recipient) {
    case .sent:
      try await repository.recordSent(mail.id, now: Date())
      repository.logger.info("mail sent", metadata: metadata)
    case .permanent(let reason):
      try await repository.recordFailed(mail.id, reason: reason, now: Date())
      repository.logger.warning(
        "mail refused by the SMTP server", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
    case .transient(let reason):
      let now = Date()
      if now.timeIntervalSince(mail.createdAt) >= Double(retry.giveUpAfter.components.seconds) {
        let gaveUp = "not delivered after \(mail.attempts) attempts: \(reason)"
        try await repository.recordFailed(mail.id, reason: gaveUp, now: now)
        repository.logger.error("mail given up", metadata: metadata.merging(["reason": "\(reason)"]) { $1 })
        return
      }
      let delay = retry.delay(after: mail.attempts)
      let next = now.addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18)
      try await repository.recordRetry(mail.id, reason: reason, at: next)
      repository.logger.warning(
        "mail not sent, will retry", metadata: metadata.merging(["reason": "\(reason)", "retry_at": "\(next)"]) { $1 })
    }
  }
}
