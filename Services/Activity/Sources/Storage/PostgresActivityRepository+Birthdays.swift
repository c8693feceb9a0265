import CRMContracts
import CRMDomain
import CRMEvents
import CRMMail
import Foundation
import PostgresNIO

/// How one contact's birthday went.
enum BirthdayOutcome: Sendable, Equatable {
  case greeted(BirthdayGreeting.Channel)
  /// Claimed before (another replica, or this run before a restart): nothing done.
  case alreadyGreeted
}

/// Birthdays: each contact greeted once a year — the claim row, the greeting (mail or activity),
/// the owner's tasks and `BirthdayGreeted` in one transaction.
extension PostgresActivityRepository {
  static let serviceActor = "service:activity"

  func greetBirthday(
    _ greeting: BirthdayGreeting, day: CalendarDay, sender: MailSender?, zone: TimeZone, now: Date
  ) async throws -> BirthdayOutcome {
    let channel = greeting.channel(smtp: sender != nil)
    let contact = greeting.contactID
    return try await client.withTransaction(logger: logger) { connection in
      // Two replicas racing: the second waits on the first's row and then inserts nothing.
      let claimed = try await connection.query(
        """
        INSERT INTO birthday_greetings (contact_id, year, day, channel)
        VALUES (\(contact), \(day.year), \(day.description)::date, \(channel.rawValue))
        ON CONFLICT (contact_id, year) DO NOTHING RETURNING 1
        """,
        logger: logger
      ).collect()
      guard !claimed.isEmpty else { return .alreadyGreeted }
      let body = greeting.body(signature: sender?.name ?? "")
      var activity: Crm_Activity_V1_ActivityRecord?
      var mail: Crm_Activity_V1_Email?
      switch channel {
      case .email:
        guard let sender, let address = greeting.address else { preconditionFailure("email needs both") }
        let logged = try await insertActivity(
          kind: .email, contact: contact, deal: nil, text: greeting.subject + "\n\n" + body, occurredAt: now,
          author: Self.serviceActor, authorID: "activity", on: connection)
        activity = logged
        mail = try await enqueueMail(
          MailMessage(
            from: sender.from, fromName: sender.name, to: address, subject: greeting.subject, body: body,
            messageID: "", date: now),
          purpose: "birthday", activity: logged, requestedBy: Self.serviceActor, on: connection)
      case .recorded:
        activity = try await insertActivity(
          kind: .email, contact: contact, deal: nil,
          text: "Birthday greeting, \(Self.notConfigured)\n\n\(greeting.subject)\n\n\(body)", occurredAt: now,
          author: Self.serviceActor, authorID: "activity", on: connection)
      case .postcard:
        break
      }
      var postcard: Crm_Activity_V1_Task?
      var reminder: Crm_Activity_V1_Task?
      if !greeting.owner.isEmpty {
        let due = Self.birthdayTaskDue(day: day, zone: zone, now: now)
        if channel == .postcard {
          postcard = try await insertServiceTask(
            assignee: greeting.owner, contact: contact, title: greeting.postcardTitle, due: due, now: now,
            on: connection)
        }
        reminder = try await insertServiceTask(
          assignee: greeting.owner, contact: contact, title: greeting.reminderTitle, due: due, now: now, on: connection)
      }
      _ = try await connection.query(
        """
        UPDATE birthday_greetings SET activity_id = \(activity.flatMap { UUID(uuidString: $0.id) }),
          mail_id = \(mail.flatMap { UUID(uuidString: $0.id) }),
          postcard_task_id = \(postcard.flatMap { UUID(uuidString: $0.id) }),
          reminder_task_id = \(reminder.flatMap { UUID(uuidString: $0.id) })
        WHERE contact_id = \(contact) AND year = \(day.year)
        """,
        logger: logger
      ).collect()
      try await publish(
        Crm_Activity_V1_BirthdayGreeted.with {
          $0.contactID = contact.text
          $0.year = Int32(day.year)
          $0.day = .with {
            $0.year = Int32(day.year)
            $0.month = Int32(day.month)
            $0.day = Int32(day.day)
          }
          $0.channel = channel.rawValue
          $0.activityID = activity?.id ?? ""
          $0.emailID = mail?.id ?? ""
          $0.postcardTaskID = postcard?.id ?? ""
          $0.reminderTaskID = reminder?.id ?? ""
        }, aggregateID: contact.text, version: Int64(day.year), actor: Self.serviceActor, on: connection)
      return .greeted(channel)
    }
  }

  /// The owner's birthday tasks are due at 18:00 of the day on the company's clock, or two
  /// hours from now when the run is late.
  static func birthdayTaskDue(day: CalendarDay, zone: TimeZone, now: Date) -> Date {
    let evening = DailyRun(hour: 18, minute: 0)!.instant(on: day, in: zone)
    return evening > now.addingTimeInterval(3600) ? evening : now.addingTimeInterval(2 * 3600)
  }

  /// A task the service gives a manager, with its history row and `TaskCreated`.
  func insertServiceTask(
    assignee: String, contact: UUID, title: String, due: Date, now: Date, on connection: PostgresConnection
  ) async throws -> Crm_Activity_V1_Task {
    let id = UUID()
    let rows = try await connection.query(
      """
      INSERT INTO tasks AS t (id, assignee_id, deal_id, contact_id, title, due_at, status, created_by)
      VALUES (\(id), \(assignee), NULL, \(contact), \(title), \(due), 'open', \(Self.serviceActor))
      RETURNING \(unescaped: Self.taskColumns)
      """,
      logger: logger)
    guard let task = try await decodeTasks(rows, now: now).first?.task else {
      throw RuleBroken(description: "the task was not stored")
    }
    _ = try await connection.query(
      """
      INSERT INTO task_changes (task_id, change, previous_due_at, due_at, note, actor)
      VALUES (\(id), 'created', NULL, \(due), 'birthday', \(Self.serviceActor))
      """,
      logger: logger
    ).collect()
    try await publish(
      Crm_Activity_V1_TaskCreated.with { $0.task = task }, aggregateID: task.id, version: task.version,
      actor: Self.serviceActor, on: connection)
    return task
  }

  func birthdayRunFinished(_ day: CalendarDay) async throws -> Bool {
    try await !client.query("SELECT 1 FROM birthday_runs WHERE day = \(day.description)::date", logger: logger)
      .collect().isEmpty
  }

  func recordBirthdayRun(_ day: CalendarDay, contacts: Int) async throws {
    _ = try await client.query(
      """
      INSERT INTO birthday_runs (day, contacts) VALUES (\(day.description)::date, \(contacts))
      ON CONFLICT (day) DO NOTHING
      """,
      logger: logger
    ).collect()
  }
}
