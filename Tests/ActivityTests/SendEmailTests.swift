import CRMContracts
import CRMMail
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import PostgresNIO
import SwiftProtobuf
import Testing

@testable import ActivityService

/// SendEmail: logged as an activity of kind email either way; with an SMTP server, written to
/// the outgoing mail in the same transaction and delivered by the background sender to a real
/// SMTP server (aiosmtpd), retried while the server is down, failed for good on a 5xx.
@Suite("Activity service: SendEmail")
struct SendEmailTests {
  static let sender = MailSender(from: try! MailAddress.parse("sales@example.com").get(), name: "Отдел продаж")

  /// A contact whose card has an e-mail address, as the contacts service would publish it.
  static func contactWithAddress(_ context: ActivityHarness.Context, address: String) async throws -> String {
    let id = UUID().uuidString.lowercased()
    try await context.deliver(
      Crm_Contacts_V1_ContactCreated.with {
        $0.contact.id = id
        $0.contact.name = "Иван Петров"
        $0.contact.ownerID = "manager-1"
        $0.contact.emails = [.with { $0.address = address }]
      }, on: EventTopics.contacts, aggregateID: id)
    return id
  }

  static func request(contact: String, subject: String = "Предложение по прицепу", body: String = "Добрый день!")
    -> Crm_Activity_V1_SendEmailRequest
  {
    .with {
      $0.contactID = contact
      $0.subject = subject
      $0.body = body
    }
  }

  /// The sender on the harness's database, quick to retry.
  static func mailSender(_ context: ActivityHarness.Context, url: String) -> OutgoingMailSender {
    OutgoingMailSender(
      repository: context.repository,
      smtp: SMTPClient(settings: SMTPSettings(url: url, from: sender.from, timeout: .seconds(5))),
      poll: .milliseconds(100), retry: .init(first: .seconds(1), maximum: .seconds(1)))
  }

  @Test func headerInjectionAndBadInputAreRefusedAndNothingIsWritten() async throws {
    try await ActivityHarness.with(mailSender: Self.sender) { context in
      let contact = try await Self.contactWithAddress(context, address: "client@example.com")
      func refused(_ set: (inout Crm_Activity_V1_SendEmailRequest) -> Void) async -> String {
        var request = Self.request(contact: contact)
        set(&request)
        return await failure { try await context.activity.sendEmail(request) }
      }
      #expect(await refused { $0.subject = "Hi\r\nBcc: victim@example.com" }.contains("subject: holds a line break"))
      #expect(await refused { $0.subject = "Hi\n" }.contains("header injection"))
      #expect(await refused { $0.to = "a@example.com\r\nBcc: victim@example.com" }.contains("to: "))
      #expect(await refused { $0.to = "a@example.com, b@example.com" }.contains("to: "))
      #expect(await refused { $0.body = "" }.contains("body: is empty"))
      #expect(await refused { $0.body = String(repeating: "я", count: 8_001) }.contains("body: has"))
      #expect(await refused { $0.subject = "" }.contains("subject: is empty"))
      #expect(await refused { $0.contactID = "" }.contains("contact_id"))
      #expect(
        await statusCode { try await context.activity.sendEmail(Self.request(contact: UUID().uuidString)) }
          == .notFound)
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 0)
      #expect(try await context.count("SELECT count(*)::int FROM outgoing_mail") == 0)
      #expect(try await context.events("crm.activity.v1.ActivityLogged").isEmpty)
    }
  }

  @Test func withoutAnSMTPServerTheEmailIsLoggedAndTheReplySaysWhyItWasNotSent() async throws {
    try await ActivityHarness.with { context in
      let contact = try await Self.contactWithAddress(context, address: "client@example.com")
      let reply = try await context.activity.sendEmail(Self.request(contact: contact))
      #expect(reply.activity.kind == .email && reply.activity.contactID == contact)
      #expect(reply.activity.text == "Предложение по прицепу\n\nДобрый день!")
      #expect(reply.email.status == .notSent && reply.email.reason.contains("CRM_SMTP_URL"))
      #expect(reply.email.to == "client@example.com" && reply.email.id.isEmpty)
      #expect(try await context.count("SELECT count(*)::int FROM outgoing_mail") == 0)
      #expect(try await context.events("crm.activity.v1.ActivityLogged").count == 1)

      // No address on record and none given: refused, nothing logged.
      let bare = try await context.knownContact()
      #expect(
        await statusCode { try await context.activity.sendEmail(Self.request(contact: bare)) } == .failedPrecondition)
      #expect(try await context.count("SELECT count(*)::int FROM activities") == 1)
    }
  }

  @Test func anEmailIsSentOnceByTheBackgroundSenderAndRepeatsAnswerTheFirstReply() async throws {
    let server = try await SMTPTestServer()
    defer { try? FileManager.default.removeItem(at: server.mailDirectory) }
    try await ActivityHarness.with(mailSender: Self.sender) { context in
      let contact = try await Self.contactWithAddress(context, address: "ivan.petrov@example.com")
      let deal = try await context.knownDeal(contact: contact)
      var request = Self.request(
        contact: contact, subject: "Счёт на прицеп МЗСА 817715", body: "Иван, добрый день!\n\nСчёт во вложении.")
      request.dealID = deal
      let reply = try await context.activity.sendEmail(request, metadata: ["crm-request-id": "mail-1"])
      let again = try await context.activity.sendEmail(request, metadata: ["crm-request-id": "mail-1"])
      #expect(again == reply)
      #expect(reply.email.status == .pending && reply.email.dealID == deal)
      #expect(reply.email.messageID == "\(reply.email.id)@example.com")
      #expect(try await context.count("SELECT count(*)::int FROM outgoing_mail") == 1)

      #expect(await Self.mailSender(context, url: server.url).deliverDue() == 1)
      let mail = try #require(try await server.waitForMessages(1).first)
      #expect(mail.envelopeRecipients == "ivan.petrov@example.com" && mail.envelopeFrom == "sales@example.com")
      #expect(mail.subject == "Счёт на прицеп МЗСА 817715")
      #expect(mail.body == "Иван, добрый день!\r\n\r\nСчёт во вложении.")
      #expect(mail.header("Message-ID") == "<\(reply.email.messageID)>")
      #expect(mail.header("From") == "Отдел продаж <sales@example.com>")

      let sent = try await context.activity.getEmail(.with { $0.emailID = reply.email.id })
      #expect(sent.status == .sent && sent.attempts == 1 && sent.hasSentAt)
      let events = try await context.events("crm.activity.v1.EmailSent")
      #expect(events.count == 1)
      #expect(try Crm_Activity_V1_EmailSent(serializedBytes: events[0].payload).email.id == reply.email.id)
      // Nothing more to send.
      #expect(await Self.mailSender(context, url: server.url).deliverDue() == 0)
      #expect(try server.messages().count == 1)
    }
    try await server.stop()
  }

  @Test func aServerThatIsDownIsRetriedUntilItTakesTheMail() async throws {
    let port = freeLocalPort()
    try await ActivityHarness.with(mailSender: Self.sender) { context in
      let contact = try await Self.contactWithAddress(context, address: "client@example.com")
      var request = Self.request(contact: contact, subject: "Напоминание о встрече")
      request.to = "Other.Person@Example.com"
      let reply = try await context.activity.sendEmail(request)
      #expect(reply.email.to == "Other.Person@example.com")
      let sender = Self.mailSender(context, url: "smtp://127.0.0.1:\(port)")
      #expect(await sender.deliverDue() == 1)
      let waiting = try await context.activity.getEmail(.with { $0.emailID = reply.email.id })
      #expect(waiting.status == .pending && waiting.attempts == 1 && !waiting.reason.isEmpty)

      // The server comes up; the sender, running, retries after its backoff and delivers once.
      let server = try await SMTPTestServer(port: port)
      defer { try? FileManager.default.removeItem(at: server.mailDirectory) }
      let running = Task { try await sender.run() }
      defer { running.cancel() }
      let mail = try #require(try await server.waitForMessages(1).first)
      #expect(mail.subject == "Напоминание о встрече")
      #expect(mail.envelopeRecipients == "Other.Person@example.com")
      let deadline = ContinuousClock.now + .seconds(10)
      var sent = waiting
      while sent.status != .sent && ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(100))
        sent = try await context.activity.getEmail(.with { $0.emailID = reply.email.id })
      }
      #expect(sent.status == .sent && sent.attempts >= 2)
      try await Task.sleep(for: .milliseconds(300))
      #expect(try server.messages().count == 1)
      try await server.stop()
    }
  }

  @Test func aSenderThatDiedMidSendLeavesTheSameMessageToBeSentAgain() async throws {
    let server = try await SMTPTestServer()
    defer { try? FileManager.default.removeItem(at: server.mailDirectory) }
    try await ActivityHarness.with(mailSender: Self.sender) { context in
      let contact = try await Self.contactWithAddress(context, address: "client@example.com")
      let reply = try await context.activity.sendEmail(Self.request(contact: contact, subject: "Договор поставки"))
      // A sender claims it and the server takes it, then the sender dies before recording it.
      let claimed = try #require(try await context.repository.claimDueMail(limit: 1, lease: .seconds(60)).first)
      let smtp = SMTPClient(settings: SMTPSettings(url: server.url, from: Self.sender.from, timeout: .seconds(5)))
      guard case .sent = await smtp.send(claimed.message, to: try MailAddress.parse(claimed.recipient).get()) else {
        Issue.record("not sent")
        return
      }
      // Leased: no other sender takes it meanwhile.
      #expect(await Self.mailSender(context, url: server.url).deliverDue() == 0)
      // The lease runs out; it is sent again, byte for byte, with the same Message-ID.
      _ = try await context.database.query(
        "UPDATE outgoing_mail SET next_attempt_at = now() - interval '1 second'"
      ).collect()
      #expect(await Self.mailSender(context, url: server.url).deliverDue() == 1)
      let mails = try await server.waitForMessages(2)
      #expect(mails.map { $0.header("Message-ID") } == Array(repeating: "<\(reply.email.messageID)>", count: 2))
      #expect(mails[0].body == mails[1].body && mails[0].header("Date") == mails[1].header("Date"))
      let sent = try await context.activity.getEmail(.with { $0.emailID = reply.email.id })
      #expect(sent.status == .sent && sent.attempts == 2)
    }
    try await server.stop()
  }

  @Test func aRecipientRefusedForGoodFailsWithTheServersReason() async throws {
    let server = try await SMTPTestServer()
    defer { try? FileManager.default.removeItem(at: server.mailDirectory) }
    try await ActivityHarness.with(mailSender: Self.sender) { context in
      let contact = try await Self.contactWithAddress(context, address: "refused@example.com")
      let reply = try await context.activity.sendEmail(Self.request(contact: contact))
      #expect(await Self.mailSender(context, url: server.url).deliverDue() == 1)
      let failed = try await context.activity.getEmail(.with { $0.emailID = reply.email.id })
      #expect(failed.status == .failed && failed.reason.contains("550 5.1.1"))
      let events = try await context.events("crm.activity.v1.EmailFailed")
      #expect(events.count == 1)
      #expect(await Self.mailSender(context, url: server.url).deliverDue() == 0)
    }
    try await server.stop()
  }

  @Test func badMailSettingsStopTheServiceNamingTheVariable() throws {
    func problem(_ values: [String: String]) -> String? {
      do {
        _ = try MailConfiguration.read(EnvironmentReader(values))
        return nil
      } catch { return error.variable }
    }
    let url = "smtp://mail.example.com:587"
    #expect(try MailConfiguration.read(EnvironmentReader([:])) == nil)
    #expect(problem(["CRM_SMTP_URL": url, "CRM_SMTP_FROM": "Продажи <sales@example.com>"]) == nil)
    let settings = try #require(
      try MailConfiguration.read(
        EnvironmentReader(["CRM_SMTP_URL": "smtps://mail.example.com", "CRM_SMTP_FROM": "\"Sales\" <s@example.com>"])))
    #expect(settings.fromName == "Sales" && settings.from.text == "s@example.com" && !settings.requireTLS)
    #expect(problem(["CRM_SMTP_FROM": "sales@example.com"]) == "CRM_SMTP_URL")
    #expect(problem(["CRM_SMTP_URL": "http://mail.example.com", "CRM_SMTP_FROM": "s@example.com"]) == "CRM_SMTP_URL")
    #expect(
      problem(["CRM_SMTP_URL": "smtp://u:p@mail.example.com", "CRM_SMTP_FROM": "s@example.com"]) == "CRM_SMTP_URL")
    #expect(problem(["CRM_SMTP_URL": url]) == "CRM_SMTP_FROM")
    #expect(problem(["CRM_SMTP_URL": url, "CRM_SMTP_FROM": "sales@example.com\r\nBcc: x@y.com"]) == "CRM_SMTP_FROM")
    #expect(
      problem(["CRM_SMTP_URL": url, "CRM_SMTP_FROM": "s@example.com", "CRM_SMTP_USER": "u"]) == "CRM_SMTP_PASSWORD_FILE"
    )
    #expect(
      problem(["CRM_SMTP_URL": url, "CRM_SMTP_FROM": "s@example.com", "CRM_SMTP_PASSWORD_FILE": "/nonexistent"])
        == "CRM_SMTP_USER")
    #expect(
      problem([
        "CRM_SMTP_URL": url, "CRM_SMTP_FROM": "s@example.com", "CRM_SMTP_USER": "u",
        "CRM_SMTP_PASSWORD_FILE": "/nonexistent",
      ]) == "CRM_SMTP_PASSWORD_FILE")
    #expect(
      problem(["CRM_SMTP_URL": url, "CRM_SMTP_FROM": "s@example.com", "CRM_SMTP_TIMEOUT_S": "0"])
        == "CRM_SMTP_TIMEOUT_S")
    #expect(
      problem(["CRM_SMTP_URL": url, "CRM_SMTP_FROM": "s@example.com", "CRM_SMTP_STARTTLS": "maybe"])
        == "CRM_SMTP_STARTTLS")
  }

  @Test func theBackoffDoublesUpToItsMaximum() {
    let retry = OutgoingMailSender.Retry(first: .seconds(30), maximum: .seconds(600))
    #expect([1, 2, 3, 5, 6, 60].map { retry.delay(after: $0) } == [30, 60, 120, 480, 600, 600].map { .seconds($0) })
  }
}
