import CRMContracts
import CRMMail
import CRMRuntime
import CRMTestSupport
import Foundation
import PostgresNIO
import SwiftProtobuf
import Testing

@testable import ActivityService

/// Birthdays: each morning the day's birthdays (from a source standing in for the contacts
/// service) get a greeting e-mail — to a real SMTP server — or a postcard task, and their
/// owners a reminder; once per contact and year, with two runs racing or a run restarted.
@Suite("Activity service: birthdays")
struct BirthdayTests {
  /// The contacts service's answer, fixed.
  struct FakeBirthdays: BirthdaySource {
    let contacts: [Crm_Contacts_V1_Contact]
    let asked = Locked<[CalendarDay]>([])

    func birthdays(on day: CalendarDay) async throws -> [Crm_Contacts_V1_Contact] {
      asked.withLock { $0.append(day) }
      return contacts
    }
  }

  static let utc = TimeZone(identifier: "UTC")!

  static func contact(_ name: String, owner: String, email: String = "", address: String = "")
    -> Crm_Contacts_V1_Contact
  {
    .with {
      $0.id = UUID().uuidString.lowercased()
      $0.name = name
      $0.ownerID = owner
      if !email.isEmpty { $0.emails = [.with { $0.address = email }] }
      $0.address = address
    }
  }

  static let anna = contact("Анна Сергеевна Иванова", owner: "manager-1", email: "anna@example.com")
  static let boris = contact("Борис Петров", owner: "manager-2", address: "г. Тула, ул. Ленина, д. 1, кв. 2")
  static let vera = contact("Вера", owner: "", email: "vera@example.com")

  static func run(_ context: ActivityHarness.Context, _ source: FakeBirthdays, smtp: Bool = true) -> BirthdayRun {
    BirthdayRun(
      repository: context.repository, source: source, time: DailyRun(hour: 0, minute: 0)!, zone: utc,
      sender: smtp ? SendEmailTests.sender : nil)
  }

  @Test func whatABirthdayGetsFollowsTheCard() throws {
    let anna = try #require(BirthdayGreeting(Self.anna))
    #expect(anna.channel(smtp: true) == .email && anna.channel(smtp: false) == .recorded)
    #expect(anna.subject == "С днём рождения, Анна Сергеевна Иванова!")
    #expect(anna.body(signature: "Отдел продаж").hasSuffix("С уважением,\nОтдел продаж"))
    let boris = try #require(BirthdayGreeting(Self.boris))
    #expect(boris.channel(smtp: true) == .postcard)
    #expect(boris.postcardTitle.contains("г. Тула, ул. Ленина, д. 1, кв. 2"))
    var hostile = Self.boris
    hostile.name = "Борис\r\nBcc: x@evil.com"
    hostile.address = String(repeating: "улица ", count: 100)
    let cleaned = try #require(BirthdayGreeting(hostile))
    #expect(!cleaned.subject.contains("\n") && !cleaned.subject.contains("\r"))
    #expect(cleaned.postcardTitle.count == TaskInput.titleLength && cleaned.postcardTitle.hasSuffix("…"))
    var badAddress = Self.anna
    badAddress.emails = [.with { $0.address = "анна@пример.рф" }]
    #expect(try #require(BirthdayGreeting(badAddress)).channel(smtp: true) == .postcard)

    // The run's day: today on the company's clock, once its time has passed.
    let moscow = TimeZone(identifier: "Europe/Moscow")!
    func due(_ now: Date) -> CalendarDay? {
      BirthdayRun.dayDue(now: now, time: DailyRun(hour: 9, minute: 0)!, zone: moscow)
    }
    let morning = ISO8601DateFormatter().date(from: "2026-12-01T05:59:00Z")!  // 08:59 in Moscow
    #expect(due(morning) == nil)
    #expect(due(morning.addingTimeInterval(60)) == CalendarDay(year: 2026, month: 12, day: 1))

    #expect(try BirthdaySettings(environment: [:], companyZone: moscow).time == DailyRun(hour: 9, minute: 0))
    #expect(try BirthdaySettings(environment: ["CRM_BIRTHDAY_TIME": "off"], companyZone: moscow).time == nil)
    #expect(throws: ConfigurationError.self) {
      try BirthdaySettings(environment: ["CRM_BIRTHDAY_TIME": "9am"], companyZone: moscow)
    }
  }

  @Test func eachBirthdayGetsItsGreetingAndTheOwnerHisTasks() async throws {
    let server = try await SMTPTestServer()
    defer { try? FileManager.default.removeItem(at: server.mailDirectory) }
    try await ActivityHarness.with { context in
      let source = FakeBirthdays(contacts: [Self.anna, Self.boris, Self.vera])
      let run = Self.run(context, source)
      #expect(try await run.greetDue(now: Date()) == 3)
      #expect(source.asked.withLock { $0 } == [CalendarDay(Date(), in: Self.utc)])

      // Anna and Vera: a greeting e-mail each, delivered.
      #expect(await SendEmailTests.mailSender(context, url: server.url).deliverDue() == 2)
      let mails = try await server.waitForMessages(2)
      let toAnna = try #require(mails.first { $0.envelopeRecipients == "anna@example.com" })
      #expect(toAnna.subject == "С днём рождения, Анна Сергеевна Иванова!")
      #expect(toAnna.body.contains("Поздравляем Вас с днём рождения!"))
      #expect(mails.contains { $0.envelopeRecipients == "vera@example.com" && $0.subject == "С днём рождения, Вера!" })
      #expect(
        try await context.count("SELECT count(*)::int FROM activities WHERE kind = 'email' AND author_id = 'activity'")
          == 2)

      // Boris: a postcard task with his address for his owner; Anna's and Boris's owners a reminder each.
      let postcard = try await context.count(
        "SELECT count(*)::int FROM tasks WHERE assignee_id = 'manager-2' AND title LIKE '%г. Тула, ул. Ленина%'")
      #expect(postcard == 1)
      #expect(try await context.count("SELECT count(*)::int FROM tasks WHERE title LIKE 'Поздравить%'") == 2)
      #expect(try await context.count("SELECT count(*)::int FROM tasks WHERE status = 'open'") == 3)
      let greeted = try await context.events("crm.activity.v1.BirthdayGreeted").map {
        try Crm_Activity_V1_BirthdayGreeted(serializedBytes: $0.payload)
      }
      #expect(Set(greeted.map(\.channel)) == ["email", "postcard"] && greeted.count == 3)
      #expect(try await context.events("crm.activity.v1.TaskCreated").count == 3)

      // The day is done: asked again (another pass, a restart), nothing is asked or made.
      #expect(try await run.greetDue(now: Date()) == nil)
      #expect(source.asked.withLock { $0.count } == 1)
    }
    try await server.stop()
  }

  @Test func twoReplicasAndARestartGreetEachContactOnce() async throws {
    try await ActivityHarness.with { context in
      let contacts =
        [Self.anna, Self.boris, Self.vera] + (1...7).map { Self.contact("Клиент \($0)", owner: "m-\($0)") }
      // A run that stopped after its first contact (the claim committed, the run not finished).
      let day = CalendarDay(Date(), in: Self.utc)
      let first = try #require(BirthdayGreeting(contacts[0]))
      #expect(
        try await context.repository.greetBirthday(
          first, day: day, sender: nil, zone: Self.utc, now: Date()) == .greeted(.recorded))
      // Two replicas run the day at once after the restart.
      async let one = Self.run(context, FakeBirthdays(contacts: contacts), smtp: false).greetDue(now: Date())
      async let two = Self.run(context, FakeBirthdays(contacts: contacts), smtp: false).greetDue(now: Date())
      let (a, b) = try await (one, two)
      #expect((a ?? 0) + (b ?? 0) == contacts.count - 1)
      #expect(try await context.count("SELECT count(*)::int FROM birthday_greetings") == contacts.count)
      #expect(try await context.events("crm.activity.v1.BirthdayGreeted").count == contacts.count)
      // Reminders: one per owned contact, once.
      #expect(try await context.count("SELECT count(*)::int FROM tasks WHERE title LIKE 'Поздравить%'") == 9)
      #expect(try await context.count("SELECT count(*)::int FROM outgoing_mail") == 0)
      // Without an SMTP server, Anna's and Vera's greetings are recorded, saying why they were not sent.
      #expect(
        try await context.count("SELECT count(*)::int FROM activities WHERE text LIKE '%CRM_SMTP_URL is not set%'")
          == 2)
    }
  }
}
