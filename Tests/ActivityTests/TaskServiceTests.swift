import CRMContracts
import CRMDatabase
import CRMEvents
import CRMIdentity
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ActivityService

/// Tasks over the real database: due on the assignee's clock, every due time kept, open and
/// overdue lists (RPCs through the in-process transport).
@Suite("Activity service: tasks")
struct TaskServiceTests {
  static let moscow = LocalClock(TimeZone(identifier: "Europe/Moscow")!)

  /// `hour:minute` on the Moscow clock `days` after today there.
  static func moscow(daysAhead days: Int, _ hour: Int32, _ minute: Int32 = 0) -> Crm_Activity_V1_LocalDateTime {
    let day = moscow.calendar.date(byAdding: .day, value: days, to: Date())!
    let parts = moscow.calendar.dateComponents([.year, .month, .day], from: day)
    return .with {
      $0.year = Int32(parts.year!)
      $0.month = Int32(parts.month!)
      $0.day = Int32(parts.day!)
      $0.hour = hour
      $0.minute = minute
    }
  }

  static func date(of local: Crm_Activity_V1_LocalDateTime) -> Crm_Common_V1_Date {
    .with {
      $0.year = local.year
      $0.month = local.month
      $0.day = local.day
    }
  }

  @Test func aTaskIsDueOnItsAssigneesClockAndEveryDueTimeIsKept() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let deal = try await context.knownDeal(contact: contact)
      let settings = try await context.activity.setTimeZone(.with { $0.timeZone = "Europe/Moscow" })
      #expect(settings.managerID == "manager-1" && settings.timeZone == "Europe/Moscow" && settings.version == 1)
      #expect(try await context.events("crm.activity.v1.TimeZoneSet").count == 1)

      let tomorrow = Self.moscow(daysAhead: 1, 10)
      let task = try await context.activity.createTask(
        .with {
          $0.dealID = deal
          $0.title = "Call back about the invoice"
          $0.dueLocal = tomorrow
        })
      // The caller's own, on the deal's contact, due at 10:00 Moscow time (07:00 UTC).
      #expect(task.assigneeID == "manager-1" && task.contactID == contact && task.dealID == deal)
      #expect(task.dueLocal == LocalClock.text(tomorrow) && task.timeZone == "Europe/Moscow")
      #expect(LocalClock.utc.reading(task.dueAt.date) == LocalClock.text(Self.moscow(daysAhead: 1, 7)))
      #expect(task.status == .open && !task.overdue && task.version == 1 && task.createdBy == "manager:manager-1")

      let later = task.dueAt.date.addingTimeInterval(2 * 86_400)
      let rescheduled = try await context.activity.rescheduleTask(
        .with {
          $0.taskID = task.id
          $0.dueAt = later.timestamp
          $0.reason = "Client is away until Friday"
          $0.expectedVersion = 1
        })
      #expect(rescheduled.version == 2 && rescheduled.dueAt == later.timestamp)
      let moved = try Crm_Activity_V1_TaskRescheduled(
        serializedBytes: try #require(try await context.events("crm.activity.v1.TaskRescheduled").first).payload)
      #expect(moved.previousDueAt == task.dueAt && moved.task.dueAt == later.timestamp)
      #expect(moved.reason == "Client is away until Friday")

      // A stale version, then the completion; a closed task changes no more.
      let stale = Crm_Activity_V1_CompleteTaskRequest.with {
        $0.taskID = task.id
        $0.expectedVersion = 1
      }
      #expect(await statusCode { try await context.activity.completeTask(stale) } == .aborted)
      let done = try await context.activity.completeTask(
        .with {
          $0.taskID = task.id
          $0.expectedVersion = 2
          $0.result = "Invoice paid"
        })
      #expect(done.status == .done && done.hasClosedAt && done.outcome == "Invoice paid" && !done.overdue)
      let cancel = Crm_Activity_V1_CancelTaskRequest.with {
        $0.taskID = task.id
        $0.expectedVersion = 3
      }
      #expect(await statusCode { try await context.activity.cancelTask(cancel) } == .failedPrecondition)

      let history = try await context.activity.getTask(.with { $0.taskID = task.id })
      #expect(history.task == done)
      #expect(history.history.map(\.change) == ["created", "rescheduled", "completed"])
      #expect(history.history[1].previousDueAt == task.dueAt && history.history[1].dueAt == later.timestamp)
      #expect(history.history[1].note == "Client is away until Friday")
      #expect(!history.history[0].hasPreviousDueAt && history.history.allSatisfy { $0.actor == "manager:manager-1" })
      #expect(try await context.events("crm.activity.v1.TaskCreated").count == 1)
      #expect(try await context.events("crm.activity.v1.TaskCompleted").map(\.aggregateVersion) == [3])
      #expect(try await context.events("crm.activity.v1.TaskCancelled").isEmpty)
    }
  }

  @Test func badDueTimesAndLinksAreRefusedPreciselyAndWriteNothing() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      _ = try await context.activity.setTimeZone(.with { $0.timeZone = "Europe/Moscow" })
      func refused(_ set: (inout Crm_Activity_V1_CreateTaskRequest) -> Void) async -> (RPCError.Code?, String) {
        var request = Crm_Activity_V1_CreateTaskRequest.with {
          $0.contactID = contact
          $0.title = "Send the offer"
          $0.dueAt = Date().addingTimeInterval(3600).timestamp
        }
        set(&request)
        return (
          await statusCode { try await context.activity.createTask(request) },
          await failure { try await context.activity.createTask(request) }
        )
      }
      let past = await refused { $0.dueAt = Date().addingTimeInterval(-60).timestamp }
      #expect(past.0 == .invalidArgument && past.1.hasPrefix("due_at:") && past.1.contains("in the past"), "\(past.1)")
      let pastLocal = await refused {
        $0.clearDueAt()
        $0.dueLocal = Self.moscow(daysAhead: -1, 10)
      }
      #expect(pastLocal.0 == .invalidArgument && pastLocal.1.hasPrefix("due_local:"), "\(pastLocal.1)")
      #expect(await refused { $0.clearDueAt() }.1.hasPrefix("due_at: is missing"))
      #expect(await refused { $0.dueLocal = Self.moscow(daysAhead: 1, 10) }.1.contains("both given"))
      #expect(await refused { $0.dueAt = .with { $0.seconds = .max } }.1.hasPrefix("due_at.seconds:"))
      #expect(
        await refused {
          $0.clearDueAt()
          $0.dueLocal = Self.moscow(daysAhead: 1, 25)
        }.1.hasPrefix("due_local.hour:"))
      #expect(await refused { $0.dueAt = Date().addingTimeInterval(20 * 366 * 86_400).timestamp }.0 == .invalidArgument)
      #expect(await refused { $0.title = "" }.1.hasPrefix("title:"))
      #expect(await refused { $0.title = "a\u{202E}b" }.1.contains("bidirectional"))
      let unknown = UUID().uuidString.lowercased()
      #expect(await refused { $0.dealID = unknown } == (.notFound, "deal \(unknown) does not exist"))
      #expect(await refused { $0.contactID = unknown }.0 == .notFound)
      // A colleague's task is not a manager's to make.
      let colleague = await refused { $0.assigneeID = "manager-2" }
      #expect(colleague.0 == .permissionDenied && colleague.1.contains("manager:manager-1"), "\(colleague.1)")
      #expect(
        await statusCode {
          try await context.activity.setTimeZone(
            .with {
              $0.managerID = "manager-2"
              $0.timeZone = "UTC"
            })
        } == .permissionDenied)
      #expect(
        await statusCode { try await context.activity.setTimeZone(.with { $0.timeZone = "Mars/Base" }) }
          == .invalidArgument)
      #expect(try await context.count("SELECT count(*)::int FROM tasks") == 0)
      #expect(try await context.count("SELECT count(*)::int FROM outbox WHERE type LIKE 'crm.activity.v1.Task%'") == 0)
    }
  }

  @Test func aZoneIsNamedAsChosen() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      // Foundation would call UTC GMT; the manager sees the name he chose, on his tasks too.
      let utc = try await context.activity.setTimeZone(.with { $0.timeZone = " UTC " })
      #expect(utc.timeZone == "UTC" && utc.version == 1)
      let task = try await context.activity.createTask(
        .with {
          $0.contactID = contact
          $0.title = "On UTC"
          $0.dueAt = Date().addingTimeInterval(3600).timestamp
        })
      #expect(task.timeZone == "UTC")
      let moscow = try await context.activity.setTimeZone(.with { $0.timeZone = "Europe/Moscow" })
      #expect(moscow.version == 2)
      let again = try await context.activity.getTask(.with { $0.taskID = task.id }).task
      #expect(again.timeZone == "Europe/Moscow" && again.dueAt == task.dueAt)
    }
  }

  @Test func openAndOverdueListsAreTheAssigneesSoonestFirstAndPageBoundToTheirFilter() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      _ = try await context.activity.setTimeZone(.with { $0.timeZone = "Europe/Moscow" })
      let me = TestIdentity.principal("manager:manager-1")
      // Two made three hours ago, due two and one hour ago: overdue now.
      var overdue: [Crm_Activity_V1_Task] = []
      for hours in [1.0, 2.0] {
        overdue.append(
          try await context.repository.createTask(
            TaskInput.NewTask(
              assigneeID: "manager-1", contactID: UUID(uuidString: contact), dealID: nil, title: "due \(hours) h ago",
              due: .instant(Date().addingTimeInterval(-hours * 3600))),
            by: me, now: Date().addingTimeInterval(-3 * 3600)))
      }
      var ahead: [Crm_Activity_V1_Task] = []
      for (days, hour) in [(2, 12), (1, 18), (1, 9)] as [(Int, Int32)] {
        ahead.append(
          try await context.activity.createTask(
            .with {
              $0.contactID = contact
              $0.title = "in \(days) d at \(hour)"
              $0.dueLocal = Self.moscow(daysAhead: days, hour)
            }))
      }
      let dropped = try await context.activity.createTask(
        .with {
          $0.contactID = contact
          $0.title = "dropped"
          $0.dueLocal = Self.moscow(daysAhead: 1, 11)
        })
      _ = try await context.activity.cancelTask(
        .with {
          $0.taskID = dropped.id
          $0.expectedVersion = 1
          $0.reason = "Not needed"
        })
      let all = (overdue + ahead).sorted { $0.dueAt.date < $1.dueAt.date }

      var listed: [Crm_Activity_V1_Task] = []
      var token = ""
      var pages = 0
      var firstToken = ""
      repeat {
        let page = try await context.activity.listOpenTasks(
          .with {
            $0.page.pageSize = 2
            $0.page.pageToken = token
          })
        listed += page.tasks
        token = page.nextPageToken
        if firstToken.isEmpty { firstToken = token }
        pages += 1
      } while !token.isEmpty && pages < 10
      #expect(pages == 3)
      #expect(listed.map(\.id) == all.map(\.id))
      #expect(listed.map(\.overdue) == all.map { $0.dueAt.date < Date() })
      #expect(listed.filter { $0.overdue }.count == 2)

      let late = try await context.activity.listOpenTasks(.with { $0.overdueOnly = true })
      #expect(late.tasks.map(\.id) == overdue.sorted { $0.dueAt.date < $1.dueAt.date }.map(\.id))
      #expect(late.tasks.allSatisfy { $0.overdue })
      let tomorrow = try await context.activity.listOpenTasks(
        .with { $0.dueOn = Self.date(of: Self.moscow(daysAhead: 1, 0)) })
      #expect(tomorrow.tasks.map(\.title) == ["in 1 d at 9", "in 1 d at 18"])

      // A token pages only the listing that issued it; others' lists are not a manager's.
      let replayed = Crm_Activity_V1_ListOpenTasksRequest.with {
        $0.overdueOnly = true
        $0.page.pageSize = 2
        $0.page.pageToken = firstToken
      }
      #expect(await statusCode { try await context.activity.listOpenTasks(replayed) } == .invalidArgument)
      #expect(
        await statusCode { try await context.activity.listOpenTasks(.with { $0.assigneeID = "manager-2" }) }
          == .permissionDenied)
      #expect(
        await statusCode {
          try await context.activity.listOpenTasks(
            .with {
              $0.dueOn = .with {
                $0.year = 2026
                $0.month = 2
                $0.day = 30
              }
            })
        } == .invalidArgument)
    }
  }

  @Test func aHeadOfSalesSetsTasksForAManagerOnTheManagersClock() async throws {
    try await ActivityHarness.with(caller: "head_of_sales:head-1") { context in
      let contact = try await context.knownContact(owner: "manager-7")
      _ = try await context.activity.setTimeZone(
        .with {
          $0.managerID = "manager-7"
          $0.timeZone = "Asia/Vladivostok"
        })
      let local = Self.moscow(daysAhead: 3, 9)
      let task = try await context.activity.createTask(
        .with {
          $0.assigneeID = "manager-7"
          $0.contactID = contact
          $0.title = "Meet at the client's site"
          $0.dueLocal = local
        })
      // 09:00 in Vladivostok (UTC+10), not on the head of sales's clock.
      #expect(task.assigneeID == "manager-7" && task.timeZone == "Asia/Vladivostok")
      #expect(task.dueLocal == LocalClock.text(local) && task.createdBy == "head_of_sales:head-1")
      let vladivostok = LocalClock(TimeZone(identifier: "Asia/Vladivostok")!)
      #expect(vladivostok.reading(task.dueAt.date) == LocalClock.text(local))
      let listed = try await context.activity.listOpenTasks(.with { $0.assigneeID = "manager-7" })
      #expect(listed.tasks == [task])
      // A repeated create answers the first task.
      let request = Crm_Activity_V1_CreateTaskRequest.with {
        $0.assigneeID = "manager-7"
        $0.contactID = contact
        $0.title = "Once"
        $0.dueAt = Date().addingTimeInterval(7200).timestamp
      }
      let first = try await context.activity.createTask(request, metadata: ["crm-request-id": "task-1"])
      let again = try await context.activity.createTask(request, metadata: ["crm-request-id": "task-1"])
      #expect(again == first)
      #expect(try await context.events("crm.activity.v1.TaskCreated").count == 2)
    }
  }

  @Test func aTaskRescheduledBetweenPagesNeitherSkipsNorRepeatsTheNextPage() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      var tasks: [Crm_Activity_V1_Task] = []
      for days in 1...4 {
        tasks.append(
          try await context.activity.createTask(
            .with {
              $0.contactID = contact
              $0.title = "in \(days) d"
              $0.dueAt = Date().addingTimeInterval(Double(days) * 86_400).timestamp
            }))
      }
      let first = try await context.activity.listOpenTasks(.with { $0.page.pageSize = 2 })
      #expect(first.tasks.map(\.id) == tasks[0..<2].map(\.id))
      // The page's last task moves far ahead before the next page is asked: the next page
      // still starts where the first ended.
      _ = try await context.activity.rescheduleTask(
        .with {
          $0.taskID = tasks[1].id
          $0.dueAt = Date().addingTimeInterval(30 * 86_400).timestamp
          $0.reason = "Client is away for a month"
          $0.expectedVersion = 1
        })
      let second = try await context.activity.listOpenTasks(
        .with {
          $0.page.pageSize = 2
          $0.page.pageToken = first.nextPageToken
        })
      #expect(second.tasks.map(\.id) == tasks[2..<4].map(\.id))
    }
  }
}
