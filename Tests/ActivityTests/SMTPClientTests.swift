import CRMMail
import CRMTestSupport
import Foundation
import Testing

/// The SMTP client (libcurl through the C shim) against a real SMTP server (aiosmtpd): what
/// arrives is the message as rendered — UTF-8 subject and body, Russian included — to the
/// envelope's recipient; a 550 is permanent with the server's reason, an unreachable server
/// transient.
@Suite("Mail: SMTP client")
struct SMTPClientTests {
  static let from = try! MailAddress.parse("crm@example.com").get()

  static func message(to: MailAddress, subject: String, body: String, id: UUID = UUID()) -> MailMessage {
    MailMessage(
      from: from, fromName: "Отдел продаж компании «Прицепы и навесное оборудование»", to: to, subject: subject,
      body: body,
      messageID: MailMessage.messageID(for: id, from: from), date: Date(timeIntervalSince1970: 1_796_000_000))
  }

  @Test func addressesThatCouldCarryAHeaderAreRefused() throws {
    #expect(try MailAddress.parse(" Ivan.Petrov@Example.COM ").get().text == "Ivan.Petrov@example.com")
    #expect(throws: MailAddressProblem.lineBreak) { try MailAddress.parse("a@example.com\r\nBcc: x@evil.com").get() }
    #expect(throws: MailAddressProblem.lineBreak) { try MailAddress.parse("a@example.com\n").get() }
    #expect(throws: MailAddressProblem.shape) { try MailAddress.parse("a@b@example.com").get() }
    #expect(throws: MailAddressProblem.localPart) { try MailAddress.parse("a,b@example.com").get() }
    #expect(throws: MailAddressProblem.localPart) { try MailAddress.parse("<a>@example.com").get() }
    #expect(throws: MailAddressProblem.localPart) { try MailAddress.parse("a..b@example.com").get() }
    #expect(throws: MailAddressProblem.domain) { try MailAddress.parse("a@localhost").get() }
    #expect(throws: MailAddressProblem.domain) { try MailAddress.parse("a@exa mple.com").get() }
    #expect(throws: MailAddressProblem.notASCII) { try MailAddress.parse("иван@пример.рф").get() }
  }

  @Test func aMessageIsRenderedWithinTheLineLimits() throws {
    let subject = String(repeating: "Поздравляем с днём рождения! ", count: 5)
    let to = try MailAddress.parse("client@example.com").get()
    let text = String(decoding: Self.message(to: to, subject: subject, body: "Строка\nещё").rendered, as: UTF8.self)
    let lines = text.components(separatedBy: "\r\n")
    #expect(lines.allSatisfy { $0.utf8.count <= 78 })
    #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    #expect(text.unicodeScalars.allSatisfy { $0.isASCII })
    #expect(
      text.contains("\r\nDate: Mon, 30 Nov 2026 00:53:20 +0000\r\n")
        || text.hasPrefix("Date: Mon, 30 Nov 2026 00:53:20 +0000\r\n"))
    #expect(SMTPSettings.checkedURL("smtp://mail.example.com:587") == .success("smtp://mail.example.com:587"))
    #expect((try? SMTPSettings.checkedURL("http://mail.example.com").get()) == nil)
    #expect((try? SMTPSettings.checkedURL("smtp://user:secret@mail.example.com").get()) == nil)
    #expect((try? SMTPSettings.checkedURL("smtp://").get()) == nil)
  }

  @Test func aMessageArrivesAsItWasWritten() async throws {
    let server = try await SMTPTestServer()
    defer { try? FileManager.default.removeItem(at: server.mailDirectory) }
    let client = SMTPClient(settings: SMTPSettings(url: server.url, from: Self.from, timeout: .seconds(10)))
    let to = try MailAddress.parse("Ivan.Petrov@example.com").get()
    let id = UUID()
    let body = "Иван Петрович, добрый день!\n\nНаше предложение во вложении.\n.\nСтрока с точкой выше."
    let outcome = await client.send(
      Self.message(to: to, subject: "Предложение по прицепу МЗСА — цена до пятницы", body: body, id: id).rendered,
      to: to)
    guard case .sent = outcome else {
      Issue.record("not sent: \(outcome)")
      return
    }
    let mail = try #require(try await server.waitForMessages(1).first)
    #expect(mail.envelopeFrom == "crm@example.com")
    #expect(mail.envelopeRecipients == "Ivan.Petrov@example.com")
    #expect(mail.subject == "Предложение по прицепу МЗСА — цена до пятницы")
    #expect(mail.header("From") == "Отдел продаж компании «Прицепы и навесное оборудование» <crm@example.com>")
    #expect(mail.header("To") == "Ivan.Petrov@example.com")
    #expect(mail.header("Message-ID") == "<\(id.uuidString.lowercased())@example.com>")
    #expect(mail.header("Content-Type") == "text/plain; charset=UTF-8")
    #expect(mail.body == body.replacingOccurrences(of: "\n", with: "\r\n"))
    try await server.stop()
  }

  @Test func aRefusedRecipientIsPermanentAndAnAbsentServerTransient() async throws {
    let server = try await SMTPTestServer()
    defer { try? FileManager.default.removeItem(at: server.mailDirectory) }
    let client = SMTPClient(settings: SMTPSettings(url: server.url, from: Self.from, timeout: .seconds(10)))
    let refused = try MailAddress.parse("refused@example.com").get()
    let outcome = await client.send(Self.message(to: refused, subject: "Hi", body: "x").rendered, to: refused)
    guard case .permanent(let reason) = outcome else {
      Issue.record("not permanent: \(outcome)")
      return
    }
    #expect(reason.contains("550 5.1.1 <refused@example.com>: mailbox unavailable"))
    let busy = try MailAddress.parse("busy@example.com").get()
    let later = await client.send(Self.message(to: busy, subject: "Hi", body: "x").rendered, to: busy)
    guard case .transient(let busyReason) = later else {
      Issue.record("not transient: \(later)")
      return
    }
    #expect(busyReason.contains("451"))
    try await server.stop()

    let closed = ClosedPort()
    let nobody = SMTPClient(
      settings: SMTPSettings(url: "smtp://\(closed.address)", from: Self.from, timeout: .seconds(5)))
    let down = await nobody.send(Self.message(to: busy, subject: "Hi", body: "x").rendered, to: busy)
    guard case .transient(let downReason) = down else {
      Issue.record("not transient: \(down)")
      return
    }
    #expect(downReason.lowercased().contains("connect"))
    #expect(try server.messages().isEmpty)
  }
}
