import CRMContracts
import CRMDomain
import CRMIdentity
import CRMRuntime
import Foundation
import GRPCCore

/// End-of-day reports: the stored report of a day, or a preview computed now on request.
extension ActivityRPCService {
  func getHygieneReport(request: Crm_Activity_V1_GetHygieneReportRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_HygieneReport
  {
    try await answering {
      try request.requireKnownFields("request")
      // A manager reads his own; heads of sales (and operators, services) anyone's.
      let manager = try Self.managerToRead(request.managerID, "manager_id", "end-of-day reports")
      let now = Date()
      let zoneName = try await repository.managerZone(manager)
      let (shownZone, zone) = hygiene.zone(zoneName)
      let today = CalendarDay(now, in: zone)
      let day = request.hasDay ? try Self.calendarDay(request.day, "day") : today
      guard day <= today else {
        throw InvalidField(
          field: "day", reason: "is \(day), after today (\(today)) on \(manager)'s clock (\(shownZone))")
      }
      if let stored = try await repository.storedHygieneReport(manager: manager, day: day) { return stored }
      let reportDay = HygieneDay(manager: manager, zoneName: zoneName, day: day, settings: hygiene)
      // A day that ended before reports started has none, nor a preview but today's (the deals
      // of then may lack their opening and closing times; today's are off by a few hours at most).
      let start = try await repository.hygieneStart()
      if reportDay.asOf < start && (day < today || !request.asOfNow) {
        throw NoHygieneReport(day: reportDay, now: now, settings: hygiene, start: start)
      }
      if request.asOfNow { return try await repository.previewHygieneReport(reportDay.asOf(now), now: now) }
      throw NoHygieneReport(day: reportDay, now: now, settings: hygiene)
    }
  }

  /// A date of the calendar, range-checked field by field.
  static func calendarDay(_ date: Crm_Common_V1_Date, _ field: String) throws(InvalidField) -> CalendarDay {
    try date.requireKnownFields(field)
    guard let day = CalendarDay(year: Int(date.year), month: Int(date.month), day: Int(date.day)) else {
      throw InvalidField(
        field: field, reason: "\(date.year)-\(date.month)-\(date.day) is not a date (years 1 to 9999)")
    }
    return day
  }
}

/// No report of that manager and day, and why: NOT_FOUND.
struct NoHygieneReport: DomainError {
  let day: HygieneDay
  let now: Date
  let settings: HygieneSettings
  /// When reports started, when the day ended before.
  var start: Date? = nil

  var status: FailureStatus { .notFound }

  var description: String {
    let none = "no end-of-day report for \(day.managerID) on \(day.day)"
    let preview = "ask with as_of_now for a preview"
    if let start {
      return "\(none): reports are kept for the days ending from \(LocalClock.utc.reading(start)) UTC on"
    }
    if !day.workingDay { return "\(none): not a working day; \(preview)" }
    if day.asOf > now {
      return "\(none): the day ends at \(settings.endOfDay) \(day.zoneName) (\(LocalClock.utc.reading(day.asOf)) UTC); "
        + preview
    }
    return "\(none): none was made (no open deal or task of his then, or before reports were kept), or not yet"
  }
}
