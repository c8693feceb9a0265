import CRMContracts
import CRMEvents
import CRMTestSupport
import Foundation
import PostgresNIO
import SwiftProtobuf
import Testing

@testable import ActivityService

/// End-of-day reports at their edges: a report that fails holds up no one and waits, long lists
/// are capped and counted, no day before reports started, and a past report reads the history
/// as it was then (changes after it undone).
@Suite("Activity service: end-of-day reports at the edges")
struct HygieneEdgeTests {
  /// Every day a working day ending at 23:59, one day caught up: at noon, yesterday's and the
  /// day before's are due.
  static var everyDay: HygieneSettings {
    var settings = HygieneSettings.default
    settings.calendar.weekend = []
    settings.endOfDay = DailyRun("23:59")!
    settings.catchUpDays = 1
    return settings
  }

  static var lastNoon: Date { DailyRun("12:00")!.last(atOrBefore: Date(), in: HygieneTests.moscow).at }

  @Test func aFailingReportHoldsUpNoOneAndWaitsBeforeItIsTriedAgain() async throws {
    try await ActivityHarness.with { context in
      try await HygieneTests.reportsKeptSince(context)
      for manager in ["manager-0", "manager-1"] {
        let contact = try await context.knownContact(owner: manager)
        _ = try await HygieneTests.openDeal(context, contact: contact, owner: manager, openedAt: nil)
      }
      // manager-0's reports cannot be stored (he sorts first: before, the pass stopped at him,
      // and manager-1 got nothing); the attempts are counted by a sequence, which no rollback undoes.
      try await HygieneTests.sql(context, "CREATE SEQUENCE attempts")
      try await HygieneTests.sql(
        context,
        """
        CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.manager_id = 'manager-0' THEN PERFORM nextval('attempts'); RAISE EXCEPTION 'refused'; END IF;
          RETURN NEW;
        END $$
        """)
      try await HygieneTests.sql(
        context, "CREATE TRIGGER refuse BEFORE INSERT ON hygiene_reports FOR EACH ROW EXECUTE FUNCTION refuse()")
      func attempts() async throws -> Int {
        try await context.count("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM attempts")
      }
      let runner = EndOfDayReports(repository: context.repository, settings: Self.everyDay, interval: .seconds(30))
      let now = Self.lastNoon
      #expect(try await runner.reportDue(now: now) == 2)
      #expect(try await context.count("SELECT count(*) FROM hygiene_reports WHERE manager_id = 'manager-1'") == 2)
      #expect(try await attempts() == 2)
      // The next passes neither run again nor try the failed ones before their wait is over.
      #expect(try await runner.reportDue(now: now.addingTimeInterval(30)) == 0)
      #expect(try await runner.reportDue(now: now.addingTimeInterval(59)) == 0)
      #expect(try await attempts() == 2)
      // Still refused after the wait: tried once more each, and the wait doubles.
      #expect(try await runner.reportDue(now: now.addingTimeInterval(60)) == 0)
      #expect(try await attempts() == 4)
      #expect(try await runner.reportDue(now: now.addingTimeInterval(150)) == 0)
      #expect(try await attempts() == 4)
      // Mended: made when the wait is over.
      try await HygieneTests.sql(context, "DROP TRIGGER refuse ON hygiene_reports")
      #expect(try await runner.reportDue(now: now.addingTimeInterval(180)) == 2)
      #expect(try await context.events(HygieneTests.reported).count == 4)
      #expect(runner.state.memory.withLock { $0.failed.isEmpty })
    }
  }

  @Test func longListsShowTheFirst200AndCountThemAll() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      for _ in 0..<205 { _ = try await HygieneTests.openDeal(context, contact: contact, openedAt: nil) }
      // Two overdue tasks on every deal, made two hours ago (written as the service would).
      try await HygieneTests.sql(
        context,
        """
        INSERT INTO tasks (id, assignee_id, deal_id, contact_id, title, due_at, status, created_by, created_at)
        SELECT gen_random_uuid(), 'manager-1', d.id, d.contact_id, 'Call back', now() - interval '1 hour', 'open',
          'manager:manager-1', now() - interval '2 hours'
        FROM known_deals d CROSS JOIN generate_series(1, 2)
        """)
      let now = Date()
      let before = HygieneDay(
        managerID: "manager-1", day: HygieneTests.day(of: now).adding(days: -1), zoneName: "Europe/Moscow",
        asOf: now.addingTimeInterval(-3 * 3_600), workingDay: true)
      guard case .made(let early) = try await context.repository.makeHygieneReport(before, now: now) else {
        Issue.record("no report made")
        return
      }
      #expect(early.unprocessedDeals.count == 200 && early.unprocessedDealCount == 205)
      #expect(early.dealsWithoutOpenTask.count == 200 && early.dealsWithoutOpenTaskCount == 205)
      let today = HygieneDay(
        managerID: "manager-1", day: HygieneTests.day(of: now), zoneName: "Europe/Moscow", asOf: now, workingDay: true)
      guard case .made(let late) = try await context.repository.makeHygieneReport(today, now: now) else {
        Issue.record("no report made")
        return
      }
      #expect(late.unprocessedDealCount == 0 && late.dealsWithoutOpenTaskCount == 0)
      #expect(late.dealsWithOverdueTask.count == 200 && late.dealsWithOverdueTaskCount == 205)
      // 200 tasks listed in all (two on each of the first 100 deals); each deal counts its two.
      #expect(late.dealsWithOverdueTask.map(\.overdueTasks.count).reduce(0, +) == 200)
      #expect(late.dealsWithOverdueTask.prefix(100).allSatisfy { $0.overdueTasks.count == 2 })
      #expect(late.dealsWithOverdueTask.allSatisfy { $0.overdueTaskCount == 2 })
      #expect(try await context.events(HygieneTests.reported).count == 2)
    }
  }

  @Test func noDayThatEndedBeforeReportsStartedIsReported() async throws {
    try await ActivityHarness.with { context in
      // A fresh schema: reports start now (migration 9), though the deal is from long ago.
      let contact = try await context.knownContact()
      _ = try await HygieneTests.openDeal(context, contact: contact, openedAt: nil)
      let start = try await context.repository.hygieneStart()
      #expect(abs(start.timeIntervalSinceNow) < 60)
      var settings = Self.everyDay
      settings.catchUpDays = 7
      let runner = EndOfDayReports(repository: context.repository, settings: settings, interval: .seconds(30))
      // Before: the seven days caught up and the last one, all reported as if the deal was open then.
      #expect(try await runner.reportDue(now: Date()) == 0)
      #expect(try await context.count("SELECT count(*) FROM hygiene_reports") == 0)
      // Today's preview is answered even when today ended before the start (a first start in the evening).
      let today = try await context.activity.getHygieneReport(.with { $0.asOfNow = true })
      #expect(today.preview && today.unprocessedDealCount == 1)
      // Two days on: only the days that ended after the start.
      let later = start.addingTimeInterval(2 * 86_400)
      let ends = settings.endOfDay.days(
        after: start, through: later.addingTimeInterval(-EndOfDayReports.settle), in: HygieneTests.moscow)
      #expect(try await runner.reportDue(now: later) == ends.count)
      #expect(
        try await context.count(
          "SELECT count(*) FROM hygiene_reports WHERE as_of < (SELECT started_at FROM hygiene_start)") == 0)
      // Read by RPC: NOT_FOUND saying why, even for a preview.
      let yesterday = HygieneDay(
        managerID: "", day: HygieneTests.day(of: start).adding(days: -1), zoneName: "", asOf: start, workingDay: true)
      let request = Crm_Activity_V1_GetHygieneReportRequest.with {
        $0.day = yesterday.wireDay
        $0.asOfNow = true
      }
      #expect(await statusCode { try await context.activity.getHygieneReport(request) } == .notFound)
      // Lost, the row is written again on first use.
      try await HygieneTests.sql(context, "DELETE FROM hygiene_start")
      #expect(try await context.repository.hygieneStart() > start)
      #expect(try await context.count("SELECT count(*) FROM hygiene_start") == 1)
    }
  }

  /// A report as of an hour ago, of things changed since: each is seen as it was then.
  @Test func aPastReportUndoesTheChangesMadeAfterIt() async throws {
    try await ActivityHarness.with { context in
      let now = Date()
      let asOf = now.addingTimeInterval(-3_600)
      let contact = try await context.knownContact()
      func deal() async throws -> String {
        try await HygieneTests.openDeal(context, contact: contact, openedAt: now.addingTimeInterval(-3 * 3_600))
      }
      // Made two hours ago (moved back: the service stamps its rows with the database's clock),
      // due 90 minutes ago: overdue then.
      func pastTask(on deal: String) async throws -> String {
        let task = try await HygieneTests.task(context, deal: deal, dueIn: 600)
        try await HygieneTests.sql(
          context,
          """
          UPDATE tasks SET created_at = now() - interval '2 hours', due_at = now() - interval '90 minutes'
          WHERE id = \(UUID(uuidString: task.id)!)
          """)
        try await HygieneTests.sql(
          context,
          """
          UPDATE task_changes SET at = now() - interval '2 hours', due_at = now() - interval '90 minutes'
          WHERE task_id = \(UUID(uuidString: task.id)!)
          """)
        return task.id
      }
      // Rescheduled now, after the report's time: overdue then at its old due time.
      let moved = try await deal()
      let movedTask = try await pastTask(on: moved)
      _ = try await context.activity.rescheduleTask(
        .with {
          $0.taskID = movedTask
          $0.dueAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(3 * 3_600))
          $0.reason = "Client asked"
          $0.expectedVersion = 1
        })
      // Completed now: open then, and overdue.
      let done = try await deal()
      let doneTask = try await pastTask(on: done)
      _ = try await context.activity.completeTask(
        .with {
          $0.taskID = doneTask
          $0.result = "Called"
          $0.expectedVersion = 1
        })
      // Won now: open then, without a task.
      let won = try await deal()
      try await context.deliver(
        Crm_Deals_V1_DealWon.with {
          $0.deal.id = won
          $0.deal.contactID = contact
          $0.deal.ownerID = "manager-1"
          $0.deal.status = .won
          $0.deal.version = 2
          $0.deal.openedAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(-3 * 3_600))
          $0.deal.closedAt = Google_Protobuf_Timestamp(date: now)
        }, on: EventTopics.deals, aggregateID: won, version: 2)
      // Won before the report's time with its task still open and overdue: in no list then.
      let closed = try await deal()
      _ = try await pastTask(on: closed)
      try await context.deliver(
        Crm_Deals_V1_DealWon.with {
          $0.deal.id = closed
          $0.deal.contactID = contact
          $0.deal.ownerID = "manager-1"
          $0.deal.status = .won
          $0.deal.version = 2
          $0.deal.openedAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(-3 * 3_600))
          $0.deal.closedAt = Google_Protobuf_Timestamp(date: now.addingTimeInterval(-7_200))
        }, on: EventTopics.deals, aggregateID: closed, version: 2)
      // A colleague's overdue task on his deal, and his on a colleague's: both his to see.
      let colleagues = try await deal()
      let theirs = try await pastTask(on: colleagues)
      try await HygieneTests.sql(
        context, "UPDATE tasks SET assignee_id = 'manager-2' WHERE id = \(UUID(uuidString: theirs)!)")
      let otherContact = try await context.knownContact(owner: "manager-2")
      let otherDeal = try await HygieneTests.openDeal(
        context, contact: otherContact, owner: "manager-2", openedAt: now.addingTimeInterval(-3 * 3_600))
      let mineThere = try await pastTask(on: moved)
      try await HygieneTests.sql(
        context,
        """
        UPDATE tasks SET deal_id = \(UUID(uuidString: otherDeal)!), contact_id = \(UUID(uuidString: otherContact)!)
        WHERE id = \(UUID(uuidString: mineThere)!)
        """)

      let day = HygieneDay(
        managerID: "manager-1", day: HygieneTests.day(of: asOf), zoneName: "Europe/Moscow", asOf: asOf,
        workingDay: true)
      guard case .made(let report) = try await context.repository.makeHygieneReport(day, now: now) else {
        Issue.record("no report made")
        return
      }
      let overdue = Dictionary(
        uniqueKeysWithValues: report.dealsWithOverdueTask.map { ($0.dealID, $0.overdueTasks.map(\.taskID)) })
      #expect(overdue == [moved: [movedTask], done: [doneTask], colleagues: [theirs], otherDeal: [mineThere]])
      #expect(report.dealsWithOverdueTaskCount == 4)
      // The moved task shows its due time then, not the one it has now.
      let movedDue = report.dealsWithOverdueTask.first { $0.dealID == moved }?.overdueTasks.first?.dueAt.date
      #expect(movedDue.map { $0 < asOf } == true)
      #expect(Set(report.dealsWithoutOpenTask.map(\.dealID)) == [won])
      #expect(!report.dealsWithoutOpenTask.map(\.dealID).contains(closed))
    }
  }
}
