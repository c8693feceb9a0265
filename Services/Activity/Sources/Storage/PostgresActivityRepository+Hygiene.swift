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
}

/// End-of-day reports, made as of the end of a manager's day from what the tables say held then:
/// a deal open at that instant (opened before, closed after), a task open then (created before,
/// closed after) and due then (its last due time set before it, from its history).
extension PostgresActivityRepository {
  /// Who publishes the reports.
  static let hygieneActor = "service:activity"

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
  /// closed since then; with their own zone when set.
  func hygieneManagers(since: Date) async throws -> [(manager: String, zone: String?)] {
    let rows = try await client.query(
      """
      SELECT m.id, s.time_zone FROM (
        SELECT owner_id FROM known_deals WHERE status = 'open' OR closed_at > \(since)
        UNION SELECT assignee_id FROM tasks WHERE status = 'open' OR closed_at > \(since)
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
      // Keyed by the manager; versions are days (1970-01-01 = 1), rising with every report.
      try await publish(
        Crm_Activity_V1_HygieneReported.with { $0.report = report }, aggregateID: "manager:\(day.managerID)",
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
    // His deals open then: whether anything was done on each since it was opened, and whether
    // it had an open task.
    let deals = try await connection.query(
      """
      SELECT d.id, d.contact_id, d.owner_id, d.stage_id, d.opened_at,
        NOT EXISTS (SELECT 1 FROM activities a WHERE a.deal_id = d.id AND a.recorded_at <= \(asOf))
          AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.deal_id = d.id AND t.created_at <= \(asOf)),
        NOT EXISTS (
          SELECT 1 FROM tasks t WHERE t.deal_id = d.id AND t.created_at <= \(asOf)
            AND (t.status = 'open' OR t.closed_at > \(asOf)))
      FROM known_deals d
      WHERE d.owner_id = \(manager) AND (d.opened_at IS NULL OR d.opened_at <= \(asOf))
        AND (d.status = 'open' OR d.closed_at > \(asOf))
      ORDER BY d.opened_at NULLS FIRST, d.id
      """, logger: logger)
    var anything = false
    for try await (id, contact, owner, stage, opened, unprocessed, withoutTask) in deals.decode(
      (UUID, UUID, String, String, Date?, Bool, Bool).self)
    {
      anything = true
      let deal = Self.hygieneDeal(id, contact, owner, stage, opened)
      if unprocessed { report.unprocessedDeals.append(deal) }
      if withoutTask { report.dealsWithoutOpenTask.append(deal) }
    }
    // Tasks open then and past their due time then, on his deals or his own, by deal.
    let overdue = try await connection.query(
      """
      SELECT d.id, d.contact_id, d.owner_id, d.stage_id, d.opened_at, t.id, t.title, t.assignee_id, t.due_then
      FROM (
        SELECT t.*, COALESCE(
          (SELECT c.due_at FROM task_changes c WHERE c.task_id = t.id AND c.at <= \(asOf) ORDER BY c.seq DESC LIMIT 1),
          t.due_at) AS due_then
        FROM tasks t
        WHERE t.deal_id IS NOT NULL AND t.created_at <= \(asOf) AND (t.status = 'open' OR t.closed_at > \(asOf))
          AND (t.assignee_id = \(manager) OR t.deal_id IN (SELECT id FROM known_deals WHERE owner_id = \(manager)))
      ) AS t JOIN known_deals d ON d.id = t.deal_id
      WHERE t.due_then < \(asOf)
      ORDER BY d.opened_at NULLS FIRST, d.id, t.due_then, t.seq
      """, logger: logger)
    for try await (id, contact, owner, stage, opened, taskID, title, assignee, due) in overdue.decode(
      (UUID, UUID, String, String, Date?, UUID, String, String, Date).self)
    {
      if report.dealsWithOverdueTask.last?.dealID != id.text {
        report.dealsWithOverdueTask.append(Self.hygieneDeal(id, contact, owner, stage, opened))
      }
      report.dealsWithOverdueTask[report.dealsWithOverdueTask.count - 1].overdueTasks.append(
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
