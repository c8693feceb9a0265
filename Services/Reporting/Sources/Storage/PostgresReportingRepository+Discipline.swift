import CRMContracts
import CRMDatabase
import Foundation
import PostgresNIO
import SwiftProtobuf

/// End-of-day violations per manager and week, and the share of optional card and deal fields
/// filled. Team rows are always the whole team's; a manager's own rows are the only ones he gets.
extension PostgresReportingRepository {
  func discipline(_ query: DisciplineQuery) async throws -> Crm_Reporting_V1_GetDisciplineReply {
    // A report's day is in the period when its midnight (UTC) is; weeks start on Monday.
    let rows = try await client.query(
      """
      SELECT coalesce(h.manager_id, ''), GROUPING(h.manager_id) = 1,
        date_trunc('week', h.day::timestamp) AT TIME ZONE 'UTC' AS week, count(*),
        sum(h.unprocessed_deals)::bigint, sum(h.deals_without_open_task)::bigint,
        sum(h.deals_with_overdue_task)::bigint
      FROM hygiene_reports h
      WHERE (\(query.period.from)::timestamptz IS NULL
          OR h.day::timestamp AT TIME ZONE 'UTC' >= \(query.period.from)::timestamptz)
        AND (\(query.period.to)::timestamptz IS NULL
          OR h.day::timestamp AT TIME ZONE 'UTC' < \(query.period.to)::timestamptz)
      GROUP BY GROUPING SETS ((h.manager_id, week), (week))
      ORDER BY GROUPING(h.manager_id) DESC, 1, 3
      """, logger: logger)
    var managers: [Crm_Reporting_V1_GetDisciplineReply.Manager] = []
    for try await (manager, team, week, days, unprocessed, withoutTask, overdue) in rows.decode(
      (String, Bool, Date, Int64, Int64, Int64, Int64).self)
    {
      guard team || ((query.managerID == nil || query.managerID == manager) && query.visibility.sees(manager)) else {
        continue
      }
      if managers.last.map({ $0.team != team || $0.managerID != manager }) ?? true {
        managers.append(
          .with {
            $0.managerID = manager
            $0.team = team
          })
      }
      managers[managers.count - 1].weeks.append(
        .with {
          $0.start = Google_Protobuf_Timestamp(date: week)
          $0.counts = Self.counts(days, unprocessed, withoutTask, overdue)
        })
    }
    if managers.first?.team != true { managers.insert(.with { $0.team = true }, at: 0) }
    return .with {
      $0.managers = managers.map { row in
        var row = row
        let weeks = row.weeks.map(\.counts)
        row.counts = Self.counts(
          weeks.map(\.days).reduce(0, +), weeks.map(\.unprocessedDeals).reduce(0, +),
          weeks.map(\.dealsWithoutOpenTask).reduce(0, +), weeks.map(\.dealsWithOverdueTask).reduce(0, +))
        // x: whole weeks since the first, so a week without reports leaves a gap, not a shift.
        let first = row.weeks.first?.start.seconds ?? 0
        row.trendPerWeek = Trend.slope(
          row.weeks.map { (x: Double($0.start.seconds - first) / 604_800, y: $0.counts.violationsPerDay) })
        return row
      }
    }
  }

  static func counts(_ days: Int64, _ unprocessed: Int64, _ withoutTask: Int64, _ overdue: Int64)
    -> Crm_Reporting_V1_GetDisciplineReply.Counts
  {
    .with {
      $0.days = days
      $0.unprocessedDeals = unprocessed
      $0.dealsWithoutOpenTask = withoutTask
      $0.dealsWithOverdueTask = overdue
      $0.violations = unprocessed + withoutTask + overdue
      $0.violationsPerDay = days == 0 ? 0 : Double($0.violations) / Double(days)
    }
  }

  func cardCompleteness(_ query: CardCompletenessQuery) async throws -> Crm_Reporting_V1_GetCardCompletenessReply {
    var rows: [String: Crm_Reporting_V1_GetCardCompletenessReply.Manager] = [:]
    func visible(_ manager: String, _ team: Bool) -> Bool {
      team || ((query.managerID == nil || query.managerID == manager) && query.visibility.sees(manager))
    }
    let cards = try await client.query(
      """
      SELECT coalesce(owner_id, ''), GROUPING(owner_id) = 1, count(*), coalesce(sum(optional_filled), 0)::bigint,
        coalesce(sum(optional_total), 0)::bigint, count(*) FILTER (WHERE optional_filled = 0)
      FROM card_completeness WHERE NOT archived
      GROUP BY GROUPING SETS ((owner_id), ())
      """, logger: logger)
    for try await (manager, team, contacts, filled, total, bare) in cards.decode(
      (String, Bool, Int64, Int64, Int64, Int64).self) where visible(manager, team)
    {
      rows[
        team ? "" : manager,
        default: .with {
          $0.managerID = manager
          $0.team = team
        }
      ].contacts = contacts
      rows[team ? "" : manager]?.contactFieldsFilled = filled
      rows[team ? "" : manager]?.contactFieldsTotal = total
      rows[team ? "" : manager]?.contactShare = total == 0 ? 0 : Double(filled) / Double(total)
      rows[team ? "" : manager]?.mandatoryOnlyContacts = bare
    }
    // Optional deal fields: the expected close date and the owner's own probability estimate.
    let deals = try await client.query(
      """
      SELECT coalesce(owner_id, ''), GROUPING(owner_id) = 1, count(*),
        coalesce(sum((expected_close IS NOT NULL)::int + owner_estimated::int), 0)::bigint
      FROM deals GROUP BY GROUPING SETS ((owner_id), ())
      """, logger: logger)
    for try await (manager, team, count, filled) in deals.decode((String, Bool, Int64, Int64).self)
    where visible(manager, team) {
      rows[
        team ? "" : manager,
        default: .with {
          $0.managerID = manager
          $0.team = team
        }
      ].deals = count
      rows[team ? "" : manager]?.dealFieldsFilled = filled
      rows[team ? "" : manager]?.dealFieldsTotal = 2 * count
      rows[team ? "" : manager]?.dealShare = count == 0 ? 0 : Double(filled) / Double(2 * count)
    }
    if rows[""] == nil { rows[""] = .with { $0.team = true } }
    return .with {
      $0.managers = rows.values.sorted { ($0.team ? 0 : 1, $0.managerID) < ($1.team ? 0 : 1, $1.managerID) }
    }
  }
}
