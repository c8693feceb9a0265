import CRMContracts
import CRMDomain
import Foundation
import SwiftProtobuf

/// Checks of what clients send about tasks: each failure names the field and why.
enum TaskInput {
  static let titleLength = 200
  static let noteLength = 2_000
  /// How far ahead a task may be due: ten years.
  static let horizon: TimeInterval = 10 * 366 * 86_400

  /// A checked `CreateTaskRequest` (the due time still to be read on the assignee's clock).
  struct NewTask: Sendable {
    var assigneeID: String
    var contactID: UUID?
    var dealID: UUID?
    var title: String
    var due: Due
  }

  /// A due time as given: an instant, or a reading of the assignee's clock.
  enum Due: Sendable {
    case instant(Date)
    case local(Crm_Activity_V1_LocalDateTime)

    /// The instant, read on `clock` when given as a local time; not in the past, not beyond
    /// the horizon.
    func resolved(on clock: LocalClock, now: Date) throws(InvalidField) -> Date {
      let (field, instant): (String, Date)
      switch self {
      case .instant(let date): (field, instant) = ("due_at", date)
      case .local(let local): (field, instant) = ("due_local", try clock.instant(of: local, "due_local"))
      }
      guard instant > now else {
        throw InvalidField(
          field: field,
          reason: "\(clock.reading(instant)) (\(clock.zone.identifier)) is in the past; a task is due later")
      }
      guard instant <= now.addingTimeInterval(TaskInput.horizon) else {
        throw InvalidField(field: field, reason: "is more than ten years ahead")
      }
      return instant
    }
  }

  /// `assignee` is the caller when empty.
  static func newTask(_ request: Crm_Activity_V1_CreateTaskRequest, caller: String) throws(InvalidField) -> NewTask {
    try request.requireKnownFields("request")
    let assignee =
      request.assigneeID.isEmpty
      ? caller
      : try Text.field(request.assigneeID, "assignee_id", limit: DealsEventsHandler.ownerLength, required: true)
    let links = try ActivityInput.links(contact: request.contactID, deal: request.dealID)
    let title = try Text.field(request.title, "title", limit: titleLength, required: true)
    let due = try Self.due(
      at: request.hasDueAt ? request.dueAt : nil, local: request.hasDueLocal ? request.dueLocal : nil)
    return NewTask(assigneeID: assignee, contactID: links.contact, dealID: links.deal, title: title, due: due)
  }

  /// Exactly one of `due_at` and `due_local`.
  static func due(at: Google_Protobuf_Timestamp?, local: Crm_Activity_V1_LocalDateTime?) throws(InvalidField) -> Due {
    switch (at, local) {
    case (let at?, nil): return .instant(try WireTime.instant(at, "due_at"))
    case (nil, let local?): return .local(local)
    case (nil, nil): throw InvalidField(field: "due_at", reason: "is missing, and so is due_local; give one")
    case (_?, _?): throw InvalidField(field: "due_at", reason: "and due_local are both given; give one")
    }
  }

  /// A reason, result or other note of a task change (may be empty).
  static func note(_ value: String, _ field: String) throws(InvalidField) -> String {
    try Text.field(value, field, limit: noteLength, multiline: true)
  }
}

extension Crm_Activity_V1_TaskStatus {
  var text: String {
    switch self {
    case .done: "done"
    case .cancelled: "cancelled"
    default: "open"
    }
  }

  init(text: String) {
    switch text {
    case "done": self = .done
    case "cancelled": self = .cancelled
    default: self = .open
    }
  }
}
