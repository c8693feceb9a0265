import CRMContracts
import CRMDatabase
import CRMDomain
import Foundation
import PostgresNIO
import SwiftProtobuf

/// Where end-of-day reports are made, kept and read.
protocol HygieneRepository: Sendable {
  /// A manager's time zone as he set it, nil when he has not.
  func managerZone(_ manager: String) async throws -> String?
  /// The report stored for `manager` and `day`, nil when there is none.
  func storedHygieneReport(manager: String, day: CalendarDay) async throws -> Crm_Activity_V1_HygieneReport?
  /// The report for `day` computed now as of `day.asOf` (a preview: neither stored nor published).
  func previewHygieneReport(_ day: HygieneDay, now: Date) async throws -> Crm_Activity_V1_HygieneReport
  /// When reports started: no day that ended before is reported.
  func hygieneStart() async throws -> Date
}

/// End-of-day reports, made as of the end of a manager's day from what the tables say held then:
/// a deal open at that instant (opened before, closed after), a task open then (created before,
/// closed after) and due then (its last due time set before it, from its history).
extension PostgresActivityRepository {
  /// Who publishes the reports.
  static let hygieneActor = "service:activity"
  /// The most deals a list of a report shows (each list has its count in all), and the most
  /// overdue tasks it shows in all: a report stays far below `OutboxEvent.recordCap` (about
  /// 0.3 MB at most, with ids and titles at their limits) however much a manager has.
  static let hygieneListCap = 200
  static let hygieneTaskCap = 200

  func hygieneStart() async throws -> Date {
    // Written by migration 9; written now if it is missing (one statement: one row either way).
    let rows = try await client.query(
      """
      WITH made AS (INSERT INTO hygiene_start DEFAULT VALUES ON CONFLICT (one) DO NOTHING RETURNING started_at)
      SELECT started_at FROM made UNION ALL SELECT started_at FROM hygiene_start
      """, logger: logger)
    guard let start = try await rows.decode(Date.self).first(where: { _ in true }) else {
      throw HygieneStartMissing()
    }
    return start
  }

  func managerZone(_ manager: String) async throws -> String? {
    let rows = try await client.query(
      "SELECT time_zone FROM manager_settings WHERE manager_id = \(manager)", logger: logger)
    return try await rows.decode(String.self).first(where: { _ in true })
  }

  /// The zones managers have set (the end of a day comes on each of these clocks).
  func managerZones() async throws -> [String] {
    let rows = try await client.query("SELECT DISTINCT time_zone FROM manager_settings", logger: logger)
    var zones: [String] = []
    for try await zone in rows.decode(String.self) { zones.append(zone) }
    return zones
  }

  /// Managers who may have a report to make since `since`: an open deal or task now, or one
  /// closed since then; with their own zone when set. Each branch reads a partial index (open
  /// ones by owner, closed ones by when), not the whole history.
  func hygieneManagers(since: Date) async throws -> [(manager: String, zone: String?)] {
    let rows = try await client.query(
      """
      SELECT m.id, s.time_zone FROM (
        SELECT owner_id FROM known_deals WHERE status = 'open'
        UNION SELECT owner_id FROM known_deals WHERE status <> 'open' AND closed_at > \(since)
        UNION SELECT assignee_id FROM tasks WHERE status = 'open'
        UNION SELECT assignee_id FROM tasks WHERE status <> 'open' AND closed_at > \(since)
      ) AS m (id) LEFT JOIN manager_settings s ON s.manager_id = m.id ORDER BY m.id
      """, logger: logger)
    var managers: [(String, String?)] = []
    for try await (manager, zone) in rows.decode((String, String?).self) { managers.append((manager, zone)) }
    return managers
  }

  /// The (manager, day) pairs reported from `first` on.
  func hygieneReportsMade(from first: CalendarDay) async throws -> Set<String> {
    let rows = try await client.query(
      "SELECT manager_id, day::text FROM hygiene_reports WHERE day >= \(first.description)::date", logger: logger)
    var made: Set<String> = []
    for try await (manager, day) in rows.decode((String, String).self) { made.insert("\(manager) \(day)") }
    return made
  }

  func storedHygieneReport(manager: String, day: CalendarDay) async throws -> Crm_Activity_V1_HygieneReport? {
    let rows = try await client.query(
      "SELECT report FROM hygiene_reports WHERE manager_id = \(manager) AND day = \(day.description)::date",
      logger: logger)
    guard let bytes = try await rows.decode(ByteBuffer.self).first(where: { _ in true }) else { return nil }
    return try Crm_Activity_V1_HygieneReport(serializedBytes: Array(buffer: bytes))
  }

  func previewHygieneReport(_ day: HygieneDay, now: Date) async throws -> Crm_Activity_V1_HygieneReport {
    try await client.withConnection { connection in
      var report = try await computeHygieneReport(day, now: now, on: connection).report
      report.preview = true
      return report
    }
  }

  /// Makes, stores and publishes the report of `day` unless it exists: the stored row claims the
  /// (manager, day) and goes in with its event, so two replicas racing make one report and one
  /// event (the loser's insert waits for the winner's commit, then inserts nothing).
  func makeHygieneReport(_ day: HygieneDay, now: Date) async throws -> HygieneOutcome {
    try await client.withTransaction(logger: logger) { connection in
      let (report, anything) = try await computeHygieneReport(day, now: now, on: connection)
      guard anything else { return .nothingToReport }
      let bytes: [UInt8] = try report.serializedBytes()
      let claimed = try await connection.query(
        """
        INSERT INTO hygiene_reports (manager_id, day, as_of, computed_at, report)
        VALUES (\(day.managerID), \(day.day.description)::date, \(day.asOf), \(now), \(ByteBuffer(bytes: bytes)))
        ON CONFLICT (manager_id, day) DO NOTHING RETURNING 1
        """, logger: logger)
      guard try await claimed.decode(Int.self).first(where: { _ in true }) != nil else { return .madeAlready }
      // Keyed `hygiene:<manager>` (not `manager:<id>`, TimeZoneSet's key, whose versions count
      // his settings); versions are days (1970-01-01 = 1), rising with every report.
      try await publish(
        Crm_Activity_V1_HygieneReported.with { $0.report = report }, aggregateID: "hygiene:\(day.managerID)",
        version: Int64(day.day.ordinal) + 1, actor: Self.hygieneActor, on: connection)
      return .made(report)
    }
  }

  /// The three rules as of `day.asOf`, and whether the manager had an open deal or task then.
  func computeHygieneReport(_ day: HygieneDay, now: Date, on connection: PostgresConnection) async throws -> (
    report: Crm_Activity_V1_HygieneReport, anything: Bool
  ) {
    let manager = day.managerID
    let asOf = day.asOf
    var report = Crm_Activity_V1_HygieneReport.with {
      $0.managerID = manager
      $0.day = day.wireDay
      $0.timeZone = day.zoneName
      $0.asOf = asOf.timestamp
      $0.computedAt = now.timestamp
      $0.workingDay = day.workingDay
    }
    // His deals open then: whether anything was done since it was opened, on the deal or on
    // its contact (an activity or a task; on the deal itself any counts: it cannot precede the
    // deal, whatever the two services' clocks say; a deal learnt without its opening time is
    // taken as opened ever since), and whether it had an open task.
    let deals = try await connection.query(
      """
      SELECT d.id, d.contact_id, d.owner_id, d.stage_id, d.opened_at,
        NOT EXISTS (SELECT 1 FROM activities a WHERE a.deal_id = d.id AND a.recorded_at <= \(asOf))
          AND NOT EXISTS (
            SELECT 1 FROM activities a WHERE a.contact_id = d.contact_id AND a.recorded_at <= \(asOf)
              AND a.recorded_at >= COALESCE(d.opened_at, '-infinity'))
          AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.deal_id = d.id AND t.created_at <= \(asOf))
          AND NOT EXISTS (
            SELECT 1 FROM tasks t WHERE t.contact_id = d.contact_id AND t.created_at <= \(asOf)
              AND t.created_at >= COALESCE(d.opened_at, '-infinity')),
        NOT EXISTS (
          SELECT 1 FROM tasks t WHERE t.deal_id = d.id AND t.created_at <= \(asOf)
            AND (t.status = 'open' OR t.closed_at > \(asOf)))
      FROM known_deals d
      WHERE d.owner_id = \(manager) AND (d.opened_at IS NULL OR d.opened_at <= \(asOf))
        AND (d.status = 'open' OR d.closed_at > \(asOf))
      ORDER BY d.opened_at NULLS FIRST, d.id
      """, logger: logger)
    var anything = false
    // Every deal is counted; the first `hygieneListCap` of each list are listed.
    for try await (id, contact, owner, stage, opened, unprocessed, withoutTask) in deals.decode(
      (UUID, UUID, String, String, Date?, Bool, Bool).self)
    {
      anything = true
      let deal = Self.hygieneDeal(id, contact, owner, stage, opened)
      if unprocessed {
        if report.unprocessedDeals.count < Self.hygieneListCap { report.unprocessedDeals.append(deal) }
        report.unprocessedDealCount += 1
      }
      if withoutTask {
        if report.dealsWithoutOpenTask.count < Self.hygieneListCap { report.dealsWithoutOpenTask.append(deal) }
        report.dealsWithoutOpenTaskCount += 1
      }
    }
    // Tasks open then and past their due time then, on his deals (anyone's) or his own (on
    // anyone's deal), by deal; deals closed by then are left out as in the other lists. Two
    // branches, each by its index (his tasks; his deals' tasks), not one scan of every task.
    let overdue = try await connection.query(
      """
      SELECT d.id, d.contact_id, d.owner_id, d.stage_id, d.opened_at, t.id, t.title, t.assignee_id, t.due_then
      FROM (
        SELECT t.id, t.seq, t.title, t.assignee_id, t.deal_id, COALESCE(
          (SELECT c.due_at FROM task_changes c WHERE c.task_id = t.id AND c.at <= \(asOf) ORDER BY c.seq DESC LIMIT 1),
          t.due_at) AS due_then
        FROM (
          SELECT * FROM tasks
          WHERE assignee_id = \(manager) AND deal_id IS NOT NULL AND created_at <= \(asOf)
            AND (status = 'open' OR closed_at > \(asOf))
          UNION ALL
          SELECT t.* FROM known_deals o JOIN tasks t ON t.deal_id = o.id
          WHERE o.owner_id = \(manager) AND t.assignee_id <> \(manager) AND t.created_at <= \(asOf)
            AND (t.status = 'open' OR t.closed_at > \(asOf))
        ) AS t
      ) AS t JOIN known_deals d ON d.id = t.deal_id
      WHERE t.due_then < \(asOf) AND (d.status = 'open' OR d.closed_at > \(asOf))
      ORDER BY d.opened_at NULLS FIRST, d.id, t.due_then, t.seq
      """, logger: logger)
    var listedTasks = 0
    var current: UUID?
    var listed = false
    for try await (id, contact, owner, stage, opened, taskID, title, assignee, due) in overdue.decode(
      (UUID, UUID, String, String, Date?, UUID, String, String, Date).self)
    {
      anything = true
      if current != id {
        // The next deal: counted always, listed while the list has room.
        current = id
        report.dealsWithOverdueTaskCount += 1
        listed = report.dealsWithOverdueTask.count < Self.hygieneListCap
        if listed { report.dealsWithOverdueTask.append(Self.hygieneDeal(id, contact, owner, stage, opened)) }
      }
      guard listed else { continue }
      let last = report.dealsWithOverdueTask.count - 1
      report.dealsWithOverdueTask[last].overdueTaskCount += 1
      guard listedTasks < Self.hygieneTaskCap else { continue }
      listedTasks += 1
      report.dealsWithOverdueTask[last].overdueTasks.append(
        .with {
          $0.taskID = taskID.text
          $0.title = title
          $0.assigneeID = assignee
          $0.dueAt = due.timestamp
        })
    }
    if !anything {
      let tasks = try await connection.query(
        """
        SELECT EXISTS (
          SELECT 1 FROM tasks WHERE assignee_id = \(manager) AND created_at <= \(asOf)
            AND (status = 'open' OR closed_at > \(asOf)))
        """, logger: logger)
      anything = try await tasks.decode(Bool.self).first(where: { _ in true }) ?? false
    }
    return (report, anything)
  }

  private static func hygieneDeal(_ id: UUID, _ contact: UUID, _ owner: String, _ stage: String, _ opened: Date?)
    -> Crm_Activity_V1_HygieneDeal
  {
    .with {
      $0.dealID = id.text
      $0.contactID = contact.text
      $0.ownerID = owner
      $0.stageID = stage
      if let opened { $0.openedAt = opened.timestamp }
    }
  }
}

/// The row of `hygiene_start` is missing and could not be written.
struct HygieneStartMissing: Error, CustomStringConvertible {
  var description: String { "hygiene_start has no row (migration 9 writes it)" }
}
