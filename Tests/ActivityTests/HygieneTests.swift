import CRMContracts
import CRMEvents
import CRMTestSupport
import Foundation
import GRPCCore
import PostgresNIO
import SwiftProtobuf
import Testing

@testable import ActivityService

/// End-of-day reports over the real database: the three rules as of the end of a day, one
/// report and one event per manager and day however many runners race, and the RPC that reads
/// them (in-process transport, fresh schema).
@Suite("Activity service: end-of-day reports")
struct HygieneTests {
  static let reported = "crm.activity.v1.HygieneReported"

  /// A deal opened `ago` seconds before now (or without a time, as deals learnt before it was kept).
  static func openDeal(
    _ context: ActivityHarness.Context, contact: String, owner: String = "manager-1", openedAt: Date?
  ) async throws -> String {
    let id = UUID().uuidString.lowercased()
    try await context.deliver(
      Crm_Deals_V1_DealOpened.with {
        $0.deal.id = id
        $0.deal.contactID = contact
        $0.deal.ownerID = owner
        $0.deal.stageID = "first-call"
        $0.deal.status = .open
        $0.deal.version = 1
        if let openedAt { $0.deal.openedAt = Google_Protobuf_Timestamp(date: openedAt) }
      }, on: EventTopics.deals, aggregateID: id)
    return id
  }

  /// Reports kept for a month already (migration 9 starts them at the schema's creation).
  static func reportsKeptSince(_ context: ActivityHarness.Context) async throws {
    try await sql(context, "UPDATE hygiene_start SET started_at = now() - interval '30 days'")
  }

  static func sql(_ context: ActivityHarness.Context, _ query: PostgresQuery) async throws {
    _ = try await context.database.query(query, logger: ActivityHarness.logger).collect()
  }

  static let moscow = TimeZone(identifier: "Europe/Moscow")!

  static func day(of instant: Date) -> CalendarDay { CalendarDay(instant, in: TimeZone(identifier: "Europe/Moscow")!) }

  static func task(_ context: ActivityHarness.Context, deal: String, dueIn seconds: Double) async throws
    -> Crm_Activity_V1_Task
  {
    try await context.activity.createTask(
      .with {
        $0.dealID = deal
        $0.title = "Call back"
        $0.dueAt = Google_Protobuf_Timestamp(date: Date().addingTimeInterval(seconds))
      })
  }

  @Test func theThreeRulesAsOfTheEndOfTheDay() async throws {
    try await ActivityHarness.with { context in
      let now = Date()
      let contact = try await context.knownContact()
      // Alone on its contact: nothing done on it.
      let untouched = try await Self.openDeal(
        context, contact: try await context.knownContact(), openedAt: now.addingTimeInterval(-3_600))
      let logged = try await Self.openDeal(context, contact: contact, openedAt: now.addingTimeInterval(-3_600))
      _ = try await context.activity.logActivity(
        .with {
          $0.kind = .call
          $0.dealID = logged
          $0.text = "Called, no answer"
          $0.occurredAt = Google_Protobuf_Timestamp(date: now)
        })
      // A task due in a minute: overdue an hour from now.
      let late = try await Self.openDeal(context, contact: contact, openedAt: nil)
      let lateTask = try await Self.task(context, deal: late, dueIn: 60)
      // A task moved to three hours from now: not overdue an hour from now.
      let moved = try await Self.openDeal(context, contact: contact, openedAt: now.addingTimeInterval(-60))
      let movedTask = try await Self.task(context, deal: moved, dueIn: 60)
      _ = try await context.activity.rescheduleTask(
        .with {
          $0.taskID = movedTask.id
          $0.dueAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(3 * 3_600))
          $0.reason = "Client asked"
          $0.expectedVersion = 1
        })
      // A task done: the deal was processed, and has no open task.
      let done = try await Self.openDeal(context, contact: contact, openedAt: now.addingTimeInterval(-60))
      let doneTask = try await Self.task(context, deal: done, dueIn: 600)
      _ = try await context.activity.completeTask(
        .with {
          $0.taskID = doneTask.id
          $0.result = "Agreed on a meeting"
          $0.expectedVersion = 1
        })
      // Opened after the end of the day, won before it, and a colleague's: none of his report.
      _ = try await Self.openDeal(context, contact: contact, openedAt: now.addingTimeInterval(7_200))
      let won = try await Self.openDeal(context, contact: contact, openedAt: now.addingTimeInterval(-7_200))
      try await context.deliver(
        Crm_Deals_V1_DealWon.with {
          $0.deal.id = won
          $0.deal.contactID = contact
          $0.deal.ownerID = "manager-1"
          $0.deal.status = .won
          $0.deal.version = 2
          $0.deal.openedAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(-7_200))
          $0.deal.closedAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(-60))
        }, on: EventTopics.deals, aggregateID: won, version: 2)
      let other = try await context.knownContact(owner: "manager-2")
      _ = try await Self.openDeal(context, contact: other, owner: "manager-2", openedAt: now)
      // Rule 1 counts what was done on the deal's contact since the deal was opened (not before):
      // a call on the contact alone, a task on the contact alone.
      let called = try await context.knownContact()
      let calledDeal = try await Self.openDeal(context, contact: called, openedAt: now.addingTimeInterval(-60))
      _ = try await context.activity.logActivity(
        .with {
          $0.kind = .call
          $0.contactID = called
          $0.text = "Called about the new deal"
          $0.occurredAt = Google_Protobuf_Timestamp(date: now)
        })
      let tasked = try await context.knownContact()
      let taskedDeal = try await Self.openDeal(context, contact: tasked, openedAt: now.addingTimeInterval(-60))
      _ = try await context.activity.createTask(
        .with {
          $0.contactID = tasked
          $0.title = "Send the price list"
          $0.dueAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(7_200))
        })
      // A call on the contact before the deal was opened does not count ("since it was opened").
      let earlyContact = try await context.knownContact()
      _ = try await context.activity.logActivity(
        .with {
          $0.kind = .call
          $0.contactID = earlyContact
          $0.text = "Called before any deal"
          $0.occurredAt = Google_Protobuf_Timestamp(date: now)
        })
      let lateDeal = try await Self.openDeal(context, contact: earlyContact, openedAt: now.addingTimeInterval(600))

      let asOf = now.addingTimeInterval(3_600)
      let day = HygieneDay(
        managerID: "manager-1", day: Self.day(of: asOf), zoneName: "Europe/Moscow", asOf: asOf, workingDay: true)
      guard case .made(let report) = try await context.repository.makeHygieneReport(day, now: asOf) else {
        Issue.record("no report made")
        return
      }
      #expect(report.managerID == "manager-1" && report.asOf.date == asOf && !report.preview && report.workingDay)
      #expect(report.unprocessedDeals.map(\.dealID) == [untouched, lateDeal])
      #expect(report.unprocessedDeals.first?.stageID == "first-call")
      #expect(report.unprocessedDealCount == 2)
      #expect(
        Set(report.dealsWithoutOpenTask.map(\.dealID)) == [untouched, logged, done, calledDeal, taskedDeal, lateDeal])
      #expect(report.dealsWithoutOpenTaskCount == 6 && report.dealsWithOverdueTaskCount == 1)
      #expect(report.dealsWithOverdueTask.map(\.dealID) == [late])
      #expect(report.dealsWithOverdueTask.first?.overdueTasks.map(\.taskID) == [lateTask.id])
      #expect(report.dealsWithOverdueTask.first?.hasOpenedAt == false)

      // As of the day before, only the deals open then (the one learnt without a time) count,
      // and the tasks did not exist yet.
      let before = now.addingTimeInterval(-86_400)
      let earlier = HygieneDay(
        managerID: "manager-1", day: Self.day(of: before), zoneName: "Europe/Moscow", asOf: before, workingDay: true)
      guard case .made(let old) = try await context.repository.makeHygieneReport(earlier, now: now) else {
        Issue.record("no report of the day before")
        return
      }
      #expect(old.unprocessedDeals.map(\.dealID) == [late] && old.dealsWithOverdueTask.isEmpty)

      // The event carries the report, keyed `hygiene:<manager>` (`manager:<id>` is TimeZoneSet's).
      let events = try await context.events(Self.reported)
      #expect(events.count == 2 && Set(events.map(\.aggregateID)) == ["hygiene:manager-1"])
      let published = try Crm_Activity_V1_HygieneReported(serializedBytes: events[0].payload)
      #expect([report, old].contains(published.report))

      // A manager with nothing open then gets no report.
      let nobody = HygieneDay(
        managerID: "manager-9", day: Self.day(of: asOf), zoneName: "Europe/Moscow", asOf: asOf, workingDay: true)
      #expect(try await context.repository.makeHygieneReport(nobody, now: asOf) == .nothingToReport)
    }
  }

  @Test func racingRunnersMakeOneReportAndOneEventPerManagerAndDay() async throws {
    try await ActivityHarness.with { context in
      try await Self.reportsKeptSince(context)
      let contact = try await context.knownContact()
      _ = try await Self.openDeal(context, contact: contact, openedAt: nil)
      let colleague = try await context.knownContact(owner: "manager-2")
      _ = try await Self.openDeal(context, contact: colleague, owner: "manager-2", openedAt: nil)
      // Every day a working day ending at 23:59: yesterday's and the day before's are due at noon.
      var settings = HygieneSettings.default
      settings.calendar.weekend = []
      settings.endOfDay = DailyRun("23:59")!
      settings.catchUpDays = 1
      let runners = (0..<4).map { _ in
        EndOfDayReports(repository: context.repository, settings: settings, interval: .seconds(30))
      }
      // Pinned to the last Moscow noon: far from the end of a day either side.
      let now = DailyRun("12:00")!.last(atOrBefore: Date(), in: Self.moscow).at
      let made = try await withThrowingTaskGroup(of: Int.self) { group in
        for runner in runners { group.addTask { try await runner.reportDue(now: now) } }
        return try await group.reduce(0, +)
      }
      #expect(made == 4)
      #expect(try await context.count("SELECT count(*) FROM hygiene_reports") == 4)
      #expect(try await context.events(Self.reported).count == 4)
      // The next pass before another day ends does nothing; a restarted runner finds them made.
      #expect(try await runners[0].reportDue(now: now.addingTimeInterval(60)) == 0)
      let restarted = EndOfDayReports(repository: context.repository, settings: settings, interval: .seconds(30))
      #expect(try await restarted.reportDue(now: now.addingTimeInterval(60)) == 0)
      #expect(try await context.events(Self.reported).count == 4)
      // The next day's end: its reports.
      #expect(try await runners[1].reportDue(now: now.addingTimeInterval(86_400)) == 2)
      #expect(try await context.events(Self.reported).count == 6)

      // The same day made by two at once, straight: one made, one told it was.
      let day = HygieneDay(
        managerID: "manager-1", day: Self.day(of: now).adding(days: -5), zoneName: "Europe/Moscow", asOf: now,
        workingDay: true)
      async let first = context.repository.makeHygieneReport(day, now: now)
      async let second = context.repository.makeHygieneReport(day, now: now)
      let outcomes = try await [first, second]
      #expect(outcomes.filter { $0 == .madeAlready }.count == 1)
      #expect(outcomes.filter { if case .made = $0 { true } else { false } }.count == 1)
      #expect(try await context.events(Self.reported).count == 7)

      // A replica that dies in the middle: its claim is never committed (held here, then rolled
      // back as a dropped connection would be). Another waits on it, then makes the report, once.
      struct Died: Error {}
      let other = HygieneDay(
        managerID: "manager-2", day: day.day, zoneName: "Europe/Moscow", asOf: now, workingDay: true)
      let dying = Task {
        try await context.database.withTransaction(logger: ActivityHarness.logger) { connection in
          _ = try await connection.query(
            """
            INSERT INTO hygiene_reports (manager_id, day, as_of, computed_at, report)
            VALUES ('manager-2', \(other.day.description)::date, now(), now(), '')
            """, logger: ActivityHarness.logger)
          try await Task.sleep(for: .milliseconds(800))
          throw Died()
        }
      }
      try await Task.sleep(for: .milliseconds(200))
      let survivor = try await context.repository.makeHygieneReport(other, now: now)
      #expect(await (try? dying.value) == nil)
      #expect(survivor != .madeAlready && survivor != .nothingToReport)
      #expect(
        try await context.repository.storedHygieneReport(manager: "manager-2", day: other.day)?.managerID == "manager-2"
      )
      #expect(try await context.events(Self.reported).count == 8)
    }
  }

  @Test func readingReportsMineOrAsTheirHead() async throws {
    try await ActivityHarness.with { context in
      try await Self.reportsKeptSince(context)
      let contact = try await context.knownContact()
      let deal = try await Self.openDeal(context, contact: contact, openedAt: nil)
      let now = Date()
      let today = Self.day(of: now)
      let stored = HygieneDay(
        managerID: "manager-1", day: today.adding(days: -1), zoneName: "Europe/Moscow", asOf: now, workingDay: true)
      _ = try await context.repository.makeHygieneReport(stored, now: now)
      func date(_ day: CalendarDay) -> Crm_Common_V1_Date {
        HygieneDay(managerID: "", day: day, zoneName: "", asOf: now, workingDay: true).wireDay
      }

      let mine = try await context.activity.getHygieneReport(.with { $0.day = date(today.adding(days: -1)) })
      #expect(mine.managerID == "manager-1" && mine.unprocessedDeals.map(\.dealID) == [deal] && !mine.preview)
      // A day without a report: NOT_FOUND, or a preview computed now on request.
      let none = Crm_Activity_V1_GetHygieneReportRequest.with { $0.day = date(today.adding(days: -2)) }
      #expect(await statusCode { try await context.activity.getHygieneReport(none) } == .notFound)
      let preview = try await context.activity.getHygieneReport(.with { $0.asOfNow = true })
      #expect(preview.preview && preview.day == date(today) && preview.unprocessedDeals.map(\.dealID) == [deal])
      #expect(preview.timeZone == "Europe/Moscow" && preview.asOf.date <= Date())
      #expect(try await context.count("SELECT count(*) FROM hygiene_reports") == 1)
      #expect(try await context.events(Self.reported).count == 1)
      // A colleague's: refused to a manager.
      let colleague = Crm_Activity_V1_GetHygieneReportRequest.with { $0.managerID = "manager-2" }
      #expect(await statusCode { try await context.activity.getHygieneReport(colleague) } == .permissionDenied)
      // Bad days name the field.
      for bad in [
        date(today.adding(days: 2)),
        .with {
          $0.year = 2026
          $0.month = 2
          $0.day = 30
        },
      ] {
        let request = Crm_Activity_V1_GetHygieneReportRequest.with { $0.day = bad }
        #expect(await statusCode { try await context.activity.getHygieneReport(request) } == .invalidArgument)
      }
    }
    try await ActivityHarness.with(caller: "head_of_sales:head-1") { context in
      try await Self.reportsKeptSince(context)
      let contact = try await context.knownContact(owner: "manager-2")
      _ = try await Self.openDeal(context, contact: contact, owner: "manager-2", openedAt: nil)
      let report = try await context.activity.getHygieneReport(
        .with {
          $0.managerID = "manager-2"
          $0.asOfNow = true
        })
      #expect(report.managerID == "manager-2" && report.unprocessedDeals.count == 1)
      // Manager ids as long as deal owners may be (200 bytes; 64 refused them before); longer refused.
      let long = String(repeating: "m", count: DealsEventsHandler.ownerLength)
      let longReport = try await context.activity.getHygieneReport(
        .with {
          $0.managerID = long
          $0.asOfNow = true
        })
      #expect(longReport.managerID == long && longReport.preview)
      let tooLong = Crm_Activity_V1_GetHygieneReportRequest.with {
        $0.managerID = long + "m"
        $0.asOfNow = true
      }
      #expect(await statusCode { try await context.activity.getHygieneReport(tooLong) } == .invalidArgument)
    }
  }
}
