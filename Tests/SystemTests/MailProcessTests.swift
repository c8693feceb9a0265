import CRMContracts
import CRMKafka
import CRMRPC
import CRMRuntime
import CRMTestSupport
import Foundation
import GRPCCore
import Logging
import Testing

/// The contacts and activity executables on one broker with a real SMTP server (aiosmtpd): at
/// its morning time the activity service asks the contacts service (as `service:activity`) for
/// the day's birthdays and greets the one with an e-mail address by mail; SendEmail over Kafka
/// is delivered to the contact's address learnt from the contacts events.
@Suite("Activity executable: mail and birthdays")
struct MailProcessTests {
  static let logger = Logger(label: "mail-process-test")

  @Test func aBirthdayIsGreetedByMailAndSendEmailIsDelivered() async throws {
    try await TestSchema.with(database: "contacts") { _, contactsSchema in
      try await TestSchema.with(database: "activity") { _, activitySchema in
        try await run(contactsSchema: contactsSchema, activitySchema: activitySchema)
      }
    }
  }

  func run(contactsSchema: String, activitySchema: String) async throws {
    let smtp = try await SMTPTestServer()
    defer { try? FileManager.default.removeItem(at: smtp.mailDirectory) }
    let broker = try await PrivateBroker()
    let contactsProcess = try await ServiceProcess.start("contacts", brokers: broker.brokers, schema: contactsSchema)
    defer { contactsProcess.signal(SIGKILL) }
    let kafka = KafkaConfiguration(bootstrapServers: [broker.brokers], clientID: "mail-process-test")
    let contactsClient = TestIdentity.kafkaClient(
      kafka, service: "contacts", as: "manager:manager-9", logger: Self.logger)
    let activityClient = TestIdentity.kafkaClient(
      kafka, service: "activity", as: "manager:manager-9", logger: Self.logger)
    let clients = [contactsClient, activityClient]
    try await withThrowingTaskGroup(of: Void.self) { group in
      for client in clients { group.addTask { try await client.runConnections() } }
      defer { for client in clients { client.beginGracefulShutdown() } }
      let contacts = Crm_Contacts_V1_Contacts.Client(wrapping: contactsClient)
      let activity = Crm_Activity_V1_Activity.Client(wrapping: activityClient)

      // Born today (UTC), 1980: one with an e-mail address, one with a postal address only.
      var today = Calendar(identifier: .gregorian)
      today.timeZone = TimeZone(identifier: "UTC")!
      let now = today.dateComponents([.month, .day], from: Date())
      let birthday = Crm_Common_V1_Date.with {
        $0.year = 1980
        $0.month = Int32(now.month!)
        $0.day = Int32(now.day!)
      }
      let anna = try await contacts.createContact(
        .with {
          $0.name = "Анна Сергеевна"
          $0.emails = [.with { $0.address = "anna.s@example.com" }]
          $0.birthday = birthday
          $0.ownerID = "manager-9"
        })
      _ = try await contacts.createContact(
        .with {
          $0.name = "Борис Петров"
          $0.address = "г. Тула, ул. Ленина, д. 1"
          $0.birthday = birthday
          $0.ownerID = "manager-9"
        })

      // The activity service starts after its morning time (00:00 UTC): it runs the day at once.
      let activityProcess = try await ServiceProcess.start(
        "activity", brokers: broker.brokers, schema: activitySchema,
        environment: [
          "CRM_SMTP_URL": smtp.url, "CRM_SMTP_FROM": "Отдел продаж <sales@example.com>",
          "CRM_BIRTHDAY_TIME": "00:00", "CRM_COMPANY_TIME_ZONE": "UTC",
        ])
      defer { activityProcess.signal(SIGKILL) }

      let greeting = try #require(try await smtp.waitForMessages(1, within: .seconds(60)).first)
      #expect(greeting.envelopeRecipients == "anna.s@example.com", "\(activityProcess.standardError)")
      #expect(greeting.subject == "С днём рождения, Анна Сергеевна!")
      #expect(greeting.header("From") == "Отдел продаж <sales@example.com>")
      // Boris's owner has his postcard task, and a reminder for each.
      let tasks = try await eventually("the birthday tasks") { () async throws -> [Crm_Activity_V1_Task]? in
        let open = try await activity.listOpenTasks(.with { $0.assigneeID = "manager-9" }).tasks
        return open.count >= 3 ? open : nil
      }
      #expect(tasks.contains { $0.title.contains("открытку") && $0.title.contains("г. Тула, ул. Ленина, д. 1") })
      #expect(tasks.filter { $0.title.hasPrefix("Поздравить") }.count == 2)

      // SendEmail to Anna's address on record (learnt from the contacts events), sent in the background.
      let sent = try await eventually("Anna known to the activity service") {
        () async throws -> Crm_Activity_V1_SendEmailReply? in
        do {
          return try await activity.sendEmail(
            .with {
              $0.contactID = anna.id
              $0.subject = "Коммерческое предложение"
              $0.body = "Анна Сергеевна, добрый день!\nПредложение во вложении."
            }, metadata: ["crm-request-id": "mail-1"])
        } catch let error as RPCError where error.code == .notFound || error.code == .failedPrecondition {
          return nil
        }
      }
      #expect(sent.email.status == .pending && sent.activity.kind == .email)
      let mails = try await smtp.waitForMessages(2, within: .seconds(30))
      #expect(
        mails.contains { $0.subject == "Коммерческое предложение" && $0.envelopeRecipients == "anna.s@example.com" })
      let delivered = try await eventually("the e-mail sent") { () async throws -> Crm_Activity_V1_Email? in
        let email = try await activity.getEmail(.with { $0.emailID = sent.email.id })
        return email.status == .sent ? email : nil
      }
      #expect(delivered.attempts == 1)
      try await smtp.stop()
    }
  }

}
