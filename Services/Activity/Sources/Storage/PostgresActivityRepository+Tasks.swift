import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO
import SwiftProtobuf

/// Tasks: due on their assignee's clock, rescheduled with the old due time kept, completed or
/// cancelled once; and each manager's time zone.
extension PostgresActivityRepository {
  /// What `decodeTask` reads from `tasks t`, in its order (the assignee's zone by subquery).
  static let taskColumns = """
    t.id, t.assignee_id, t.deal_id, t.contact_id, t.title, t.due_at, t.status, t.created_by, t.created_at,
    t.closed_at, t.outcome, t.version, t.seq,
    coalesce((SELECT time_zone FROM manager_settings WHERE manager_id = t.assignee_id), 'UTC'),
    \(Self.dueMicros("t.due_at"))
    """

  /// A due time in whole microseconds since 1970, exactly as stored (a `Date` would round it).
  static func dueMicros(_ column: String) -> String { "(extract(epoch FROM \(column)) * 1000000)::bigint" }

  func setTimeZone(manager: String, zone: String, actor: String) async throws -> Crm_Activity_V1_ManagerSettings {
    try await client.withTransaction(logger: logger) { connection in
      let rows = try await connection.query(
        """
        INSERT INTO manager_settings (manager_id, time_zone) VALUES (\(manager), \(zone))
        ON CONFLICT (manager_id) DO UPDATE SET time_zone = excluded.time_zone, version = manager_settings.version + 1
        RETURNING version
        """,
        logger: logger)
      let version = try await rows.decode(Int64.self).first { _ in true } ?? 1
      let settings = Crm_Activity_V1_ManagerSettings.with {
        $0.managerID = manager
        $0.timeZone = zone
        $0.version = version
      }
      try await publish(
        Crm_Activity_V1_TimeZoneSet.with { $0.settings = settings }, aggregateID: "manager:\(manager)",
        version: version, actor: actor, on: connection)
      return settings
    }
  }

  /// The clock of `manager`: his time zone, UTC until he sets one.
  func clock(of manager: String, on connection: PostgresConnection) async throws -> LocalClock {
    let rows = try await connection.query(
      "SELECT time_zone FROM manager_settings WHERE manager_id = \(manager)", logger: logger)
    guard let name = try await rows.decode(String.self).first(where: { _ in true }),
      let zone = TimeZone(identifier: name)
    else { return .utc }
    return LocalClock(zone)
  }

  func createTask(_ task: TaskInput.NewTask, by principal: Principal, now: Date) async throws -> Crm_Activity_V1_Task {
    try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        let about = try await subject(contact: task.contactID, deal: task.dealID, on: connection)
        try Self.checkMay(principal, workOn: about.what, ownedBy: about.owner)
        let dueAt = try task.due.resolved(on: try await clock(of: task.assigneeID, on: connection), now: now)
        let id = UUID()
        let rows = try await connection.query(
          """
          INSERT INTO tasks AS t (id, assignee_id, deal_id, contact_id, title, due_at, status, created_by)
          VALUES (\(id), \(task.assigneeID), \(task.dealID), \(about.contact), \(task.title), \(dueAt), 'open',
                  \(principal.description))
          RETURNING \(unescaped: Self.taskColumns)
          """,
          logger: logger)
        guard let created = try await decodeTasks(rows, now: now).first?.task else {
          throw RuleBroken(description: "the task was not stored")
        }
        try await recordChange("created", of: id, previous: nil, due: dueAt, note: "", actor: principal, on: connection)
        try await publish(
          Crm_Activity_V1_TaskCreated.with { $0.task = created }, aggregateID: created.id, version: created.version,
          actor: principal.description, on: connection)
        try await RequestReplies.record(created, key: key, on: connection, logger: logger)
        return created
      }
    }
  }

  func rescheduleTask(
    id: String, to due: TaskInput.Due, reason: String, expectedVersion: Int64, by principal: Principal, now: Date
  ) async throws -> Crm_Activity_V1_Task {
    try await changeOpenTask(id, expectedVersion: expectedVersion, by: principal, now: now) { task, connection in
      let previous = task.dueAt.date
      let dueAt = try due.resolved(on: try await clock(of: task.assigneeID, on: connection), now: now)
      let rows = try await connection.query(
        """
        UPDATE tasks AS t SET due_at = \(dueAt), version = version + 1 WHERE id = \(try UUID(id, of: "task"))
        RETURNING \(unescaped: Self.taskColumns)
        """,
        logger: logger)
      let changed = try await decodeTasks(rows, now: now)[0].task
      try await recordChange(
        "rescheduled", of: try UUID(id, of: "task"), previous: previous, due: dueAt, note: reason, actor: principal,
        on: connection)
      return (
        changed,
        Crm_Activity_V1_TaskRescheduled.with {
          $0.task = changed
          $0.previousDueAt = previous.timestamp
          $0.reason = reason
        }
      )
    }
  }

  /// Completes (`done`) or cancels (`cancelled`) an open task with its result or reason.
  func closeTask(
    id: String, as status: Crm_Activity_V1_TaskStatus, note: String, expectedVersion: Int64, by principal: Principal,
    now: Date
  ) async throws -> Crm_Activity_V1_Task {
    try await changeOpenTask(id, expectedVersion: expectedVersion, by: principal, now: now) { task, connection in
      let rows = try await connection.query(
        """
        UPDATE tasks AS t SET status = \(status.text), closed_at = \(now), outcome = \(note), version = version + 1
        WHERE id = \(try UUID(id, of: "task"))
        RETURNING \(unescaped: Self.taskColumns)
        """,
        logger: logger)
      let changed = try await decodeTasks(rows, now: now)[0].task
      try await recordChange(
        status == .done ? "completed" : "cancelled", of: try UUID(id, of: "task"), previous: nil, due: task.dueAt.date,
        note: note, actor: principal, on: connection)
      let event: any SwiftProtobuf.Message & Sendable =
        status == .done
        ? Crm_Activity_V1_TaskCompleted.with { $0.task = changed }
        : Crm_Activity_V1_TaskCancelled.with { $0.task = changed }
      return (changed, event)
    }
  }

  /// The read-check-write of a change of an open task, in one transaction with the task locked:
  /// the assignee's (or a head of sales's) change, at the version the caller read.
  private func changeOpenTask(
    _ id: String, expectedVersion: Int64, by principal: Principal, now: Date,
    _ change: (Crm_Activity_V1_Task, PostgresConnection) async throws -> (
      Crm_Activity_V1_Task, any SwiftProtobuf.Message & Sendable
    )
  ) async throws -> Crm_Activity_V1_Task {
    let taskID = try UUID(id, of: "task")
    return try await client.withTransaction(logger: logger) { connection in
      let rows = try await connection.query(
        "SELECT \(unescaped: Self.taskColumns) FROM tasks t WHERE t.id = \(taskID) FOR UPDATE", logger: logger)
      guard let task = try await decodeTasks(rows, now: now).first?.task else { throw NotFound(entity: "task", id: id) }
      try Self.checkMay(principal, workOn: "task \(task.id)", ownedBy: task.assigneeID)
      guard task.version == expectedVersion else {
        throw VersionConflict(entity: "task", id: task.id, expected: expectedVersion, current: task.version)
      }
      guard task.status == .open else {
        throw RuleBroken(description: "task \(task.id) is \(task.status.text); only open tasks change")
      }
      let (changed, event) = try await change(task, connection)
      try await Outbox.append(
        [
          try ActivityEvents.event(
            aggregateID: changed.id, version: changed.version, actor: principal.description, event)
        ], on: connection, logger: logger)
      return changed
    }
  }

  private func recordChange(
    _ change: String, of task: UUID, previous: Date?, due: Date, note: String, actor: Principal,
    on connection: PostgresConnection
  ) async throws {
    _ = try await connection.query(
      """
      INSERT INTO task_changes (task_id, change, previous_due_at, due_at, note, actor)
      VALUES (\(task), \(change), \(previous), \(due), \(note), \(actor.description))
      """,
      logger: logger
    ).collect()
  }

  func task(id: String, now: Date) async throws -> Crm_Activity_V1_TaskWithHistory {
    let taskID = try UUID(id, of: "task")
    return try await client.withConnection { connection in
      let rows = try await connection.query(
        "SELECT \(unescaped: Self.taskColumns) FROM tasks t WHERE t.id = \(taskID)", logger: logger)
      guard let task = try await decodeTasks(rows, now: now).first?.task else { throw NotFound(entity: "task", id: id) }
      let changes = try await connection.query(
        """
        SELECT change, previous_due_at, due_at, note, actor, at FROM task_changes WHERE task_id = \(taskID) ORDER BY seq
        """,
        logger: logger)
      var history: [Crm_Activity_V1_TaskChange] = []
      for try await (change, previous, due, note, actor, at) in changes.decode(
        (String, Date?, Date, String, String, Date).self)
      {
        history.append(
          .with {
            $0.change = change
            if let previous { $0.previousDueAt = previous.timestamp }
            $0.dueAt = due.timestamp
            $0.note = note
            $0.actor = actor
            $0.at = at.timestamp
          })
      }
      return .with {
        $0.task = task
        $0.history = history
      }
    }
  }

  func openTasks(_ filter: TaskFilter, after cursor: TaskPosition?, limit: Int, now: Date) async throws -> (
    [Crm_Activity_V1_Task], next: TaskPosition?
  ) {
    let day: (start: Date, end: Date)? =
      if let dueOn = filter.dueOn {
        try await client.withConnection { try await clock(of: filter.assigneeID, on: $0) }.dayRange(dueOn, "due_on")
      } else {
        nil
      }
    let rows = try await client.query(
      """
      SELECT \(unescaped: Self.taskColumns) FROM tasks t
      WHERE t.assignee_id = \(filter.assigneeID) AND t.status = 'open'
        AND (NOT \(filter.overdueOnly) OR t.due_at < \(now))
        AND (\(day?.start)::timestamptz IS NULL OR (t.due_at >= \(day?.start) AND t.due_at < \(day?.end)))
        AND (\(cursor?.seq)::bigint IS NULL OR (\(unescaped: Self.dueMicros("t.due_at")), t.seq) > (
          coalesce(\(cursor?.dueMicros)::bigint,
            (SELECT \(unescaped: Self.dueMicros("due_at")) FROM tasks WHERE seq = \(cursor?.seq))),
          \(cursor?.seq)::bigint))
      ORDER BY t.due_at, t.seq LIMIT \(limit + 1)
      """,
      logger: logger)
    let found = try await decodeTasks(rows, now: now)
    guard found.count > limit else { return (found.map(\.task), nil) }
    let last = found[limit - 1]
    return (found.prefix(limit).map(\.task), TaskPosition(dueMicros: last.dueMicros, seq: last.seq))
  }

  func decodeTasks(_ rows: PostgresRowSequence, now: Date) async throws -> [(
    task: Crm_Activity_V1_Task, seq: Int64, dueMicros: Int64
  )] {
    var tasks: [(Crm_Activity_V1_Task, Int64, Int64)] = []
    for try await row in rows {
      let (
        id, assignee, dealID, contactID, title, dueAt, status, createdBy, createdAt, closedAt, outcome, version, seq,
        zone, dueMicros
      ) = try row.decode(
        (UUID, String, UUID?, UUID, String, Date, String, String, Date, Date?, String, Int64, Int64, String, Int64).self
      )
      let clock = TimeZone(identifier: zone).map(LocalClock.init) ?? .utc
      var task = Crm_Activity_V1_Task()
      task.id = id.text
      task.assigneeID = assignee
      task.dealID = dealID?.text ?? ""
      task.contactID = contactID.text
      task.title = title
      task.dueAt = dueAt.timestamp
      task.dueLocal = clock.reading(dueAt)
      task.timeZone = zone
      task.status = Crm_Activity_V1_TaskStatus(text: status)
      task.overdue = task.status == .open && dueAt < now
      task.createdBy = createdBy
      task.createdAt = createdAt.timestamp
      if let closedAt { task.closedAt = closedAt.timestamp }
      task.outcome = outcome
      task.version = version
      tasks.append((task, seq, dueMicros))
    }
    return tasks
  }
}
