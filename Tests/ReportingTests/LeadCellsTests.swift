import CRMContracts
import CRMEvents
import Foundation
import PostgresNIO
import SwiftProtobuf
import Testing

@testable import ReportingService

/// The lead funnel reads monthly sums (`lead_cells`) for the whole months of a period and the
/// leads rows for the days at its ends: whatever the period, the figures are those counted from
/// the rows alone.
@Suite("Reporting lead funnel from monthly sums")
struct LeadCellsTests {
  static let utc: Calendar = {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar
  }()

  static func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0) -> Date {
    utc.date(from: DateComponents(year: year, month: month, day: day, hour: hour))!
  }

  @Test func aPeriodIsSplitIntoWholeMonthsAndTheStretchesAtItsEnds() {
    let all = MonthSplit(.all)
    #expect(all.allTime && all.months != nil && all.edges.isEmpty)
    // 10 Jan 21:00 → 5 Apr 21:00 (Moscow's days): February and March whole, the ends from rows.
    let cut = MonthSplit(ReportPeriod(from: Self.date(2026, 1, 10, 21), to: Self.date(2026, 4, 5, 21)))
    #expect(!cut.allTime && cut.months?.from == Self.date(2026, 2, 1) && cut.months?.to == Self.date(2026, 4, 1))
    #expect(cut.edges.map(\.from) == [Self.date(2026, 1, 10, 21), Self.date(2026, 4, 1)])
    #expect(cut.edges.map(\.to) == [Self.date(2026, 2, 1), Self.date(2026, 4, 5, 21)])
    // Whole months: no stretch.
    let whole = MonthSplit(ReportPeriod(from: Self.date(2026, 2, 1), to: Self.date(2026, 4, 1)))
    #expect(whole.months?.from == Self.date(2026, 2, 1) && whole.edges.isEmpty)
    // Inside one month, or across a month's end without a whole month: the rows only.
    let inside = MonthSplit(ReportPeriod(from: Self.date(2026, 3, 3), to: Self.date(2026, 3, 9)))
    #expect(inside.months == nil && inside.edges.count == 1)
    let across = MonthSplit(ReportPeriod(from: Self.date(2026, 3, 20), to: Self.date(2026, 4, 9)))
    #expect(across.months == nil && across.edges.map(\.from) == [Self.date(2026, 3, 20)])
    // Open at one end: the months from the first whole one on (or up to the last).
    let since = MonthSplit(ReportPeriod(from: Self.date(2026, 3, 20), to: nil))
    #expect(since.months?.from == Self.date(2026, 4, 1) && since.months?.to == nil)
    #expect(since.edges.map(\.to) == [Self.date(2026, 4, 1)])
    let until = MonthSplit(ReportPeriod(from: nil, to: Self.date(2026, 3, 20)))
    #expect(until.months?.from == nil && until.months?.to == Self.date(2026, 3, 1))
    #expect(until.edges.map(\.from) == [Self.date(2026, 3, 1)])
    // Backwards: nothing.
    let backwards = MonthSplit(ReportPeriod(from: Self.date(2026, 4, 1), to: Self.date(2026, 3, 1)))
    #expect(backwards.months == nil && backwards.edges.isEmpty)
  }

  /// The lead funnel as the rows alone give it (the query before the sums), per row key.
  static func fromRows(_ context: ReportingHarness.Context, from: Date?, to: Date?, source: String?) async throws
    -> [String: [Int]]
  {
    let rows = try await context.database.query(
      """
      SELECT source || '/' || coalesce(owner_id, 'team') || '/' || coalesce(rejection_reason, '-'), count(*)::int,
        (count(*) FILTER (WHERE status = 'converted'))::int, (count(*) FILTER (WHERE status = 'rejected'))::int,
        (count(*) FILTER (WHERE status = 'open'))::int
      FROM leads
      WHERE (\(from)::timestamptz IS NULL OR created_at >= \(from)::timestamptz)
        AND (\(to)::timestamptz IS NULL OR created_at < \(to)::timestamptz)
        AND (\(source)::text IS NULL OR source = \(source)::text)
      GROUP BY GROUPING SETS ((source, owner_id, rejection_reason), (source, rejection_reason))
      """)
    var figures: [String: [Int]] = [:]
    for try await (key, leads, converted, rejected, open) in rows.decode((String, Int, Int, Int, Int).self) {
      figures[key] = [leads, converted, rejected, open]
    }
    return figures
  }

  /// The reply's rows by the same key (a row per reason, the row's own figures when none).
  static func fromReply(_ reply: Crm_Reporting_V1_GetLeadFunnelReply) -> [String: [Int]] {
    var figures: [String: [Int]] = [:]
    for row in reply.rows {
      let prefix = row.source + "/" + (row.team ? "team" : row.ownerID) + "/"
      let notRejected = Int(row.leads - row.rejected)
      if notRejected > 0 { figures[prefix + "-"] = [notRejected, Int(row.converted), 0, Int(row.open)] }
      for rejection in row.rejections {
        figures[prefix + rejection.reason] = [Int(rejection.leads), 0, Int(rejection.leads), 0]
      }
    }
    return figures
  }

  @Test func everyPeriodCountsWhatTheRowsCount() async throws {
    try await ReportingHarness.with { context in
      // 60 leads over five months, at hours that cut days and months, three sources, two owners.
      var generator = SystemRandomNumberGenerator()
      var events: [ReceivedEvent] = []
      for index in 0..<60 {
        let at = Self.date(2026, 1, 1).addingTimeInterval(Double.random(in: 0..<(150 * 86_400), using: &generator))
        let status: Crm_Contacts_V1_LeadStatus = [.open, .converted, .rejected][index % 3]
        events += try SalesFlow.lead(
          owner: index % 2 == 0 ? "m-1" : "m-2", source: ["site", "cold", "fair"][index % 3 == 0 ? 0 : index % 2 + 1],
          status: status, reason: index % 4 == 0 ? "spam" : "no need", at: at)
      }
      // In batches of a few events: the sums follow the leads through their rejections and conversions.
      for chunk in stride(from: 0, to: events.count, by: 7) {
        try await context.deliver(Array(events[chunk..<min(chunk + 7, events.count)]))
      }
      let periods: [(Date?, Date?)] = [
        (nil, nil), (Self.date(2026, 2, 1), Self.date(2026, 4, 1)),
        (Self.date(2026, 1, 10, 21), Self.date(2026, 4, 5, 21)),
        (Self.date(2026, 3, 3, 5), Self.date(2026, 3, 19, 17)), (Self.date(2026, 2, 20), nil),
        (nil, Self.date(2026, 3, 15)),
        (Self.date(2026, 2, 27, 23), Self.date(2026, 3, 2, 1)),
      ]
      for (from, to) in periods {
        for source in [nil, "cold"] as [String?] {
          let reply = try await context.reporting.getLeadFunnel(
            .with {
              if let from { $0.period.from = Google_Protobuf_Timestamp(date: from) }
              if let to { $0.period.to = Google_Protobuf_Timestamp(date: to) }
              $0.source = source ?? ""
            })
          let expected = try await Self.fromRows(context, from: from, to: to, source: source)
          #expect(
            Self.fromReply(reply) == expected,
            "\(String(describing: from)) – \(String(describing: to)), \(source ?? "any")")
        }
      }
      // The cells hold what the leads hold, month by month and in all.
      let cells = try await context.database.query(
        "SELECT count(*)::int FROM lead_cells WHERE leads <> 0 AND month = '-infinity'")
      #expect(try await cells.decode(Int.self).first { _ in true } ?? 0 > 0)
      let wrong = try await context.database.query(
        """
        SELECT count(*)::int FROM (
          SELECT month, business_line, source, owner_id, status, sum(leads) AS n FROM lead_cells
          GROUP BY 1, 2, 3, 4, 5 HAVING sum(leads) <> 0
          EXCEPT
          SELECT m, business_line, source, owner_id, status, count(*) FROM leads
          CROSS JOIN LATERAL (VALUES (date_trunc('month', created_at AT TIME ZONE 'UTC')::date), ('-infinity'::date)) v (m)
          GROUP BY 1, 2, 3, 4, 5) d
        """)
      #expect(try await wrong.decode(Int.self).first { _ in true } == 0)
    }
  }
}
