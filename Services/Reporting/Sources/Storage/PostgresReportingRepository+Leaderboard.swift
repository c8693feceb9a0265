import CRMContracts
import CRMDatabase
import Foundation
import PostgresNIO

/// The leaderboard: each manager's won amount, conversion, activities, QC score and discipline in
/// the period, ranked among the managers who have a value (`Ranking`).
extension PostgresReportingRepository {
  /// One manager's figures before ranking.
  struct BoardFigures {
    var won: Int64 = 0
    var wonDeals = 0
    var closed = 0
    var activities: Int64 = 0
    var reviews = 0
    var scoreSum = 0.0
    var reportDays = 0
    var violations: Int64 = 0
  }

  func leaderboard(_ query: LeaderboardQuery) async throws -> Crm_Reporting_V1_GetLeaderboardReply {
    let from = query.period.from
    let to = query.period.to
    var currency = query.currency
    var figures: [String: BoardFigures] = [:]
    // Closed deals: from their monthly sums when the period is whole UTC months (or open), else
    // from the deals.
    if let months = WholeMonths(query.period) {
      var binds = PostgresBindings()
      if let from = months.from { binds.append(from) } else { binds.appendNull() }
      if let to = months.to { binds.append(to) } else { binds.appendNull() }
      let inMonths = WholeMonths.filter(from: "$1", to: "$2")
      if currency == nil {
        let rows = try await client.query(
          PostgresQuery(
            unsafeSQL: """
              SELECT currency FROM leaderboard_closed WHERE \(inMonths)
              GROUP BY currency HAVING sum(won) > 0 ORDER BY sum(won) DESC, currency LIMIT 1
              """, binds: binds), logger: logger)
        currency = try await rows.decode(String.self).first { _ in true }
      }
      if let currency { binds.append(currency) } else { binds.appendNull() }
      let deals = try await client.query(
        PostgresQuery(
          unsafeSQL: """
            SELECT owner_id, sum(won)::bigint, sum(closed)::bigint,
              coalesce(sum(won_minor) FILTER (WHERE currency = $3::text), 0)::bigint
            FROM leaderboard_closed WHERE \(inMonths)
            GROUP BY owner_id HAVING sum(closed) > 0
            """, binds: binds), logger: logger)
      for try await (owner, won, closed, amount) in deals.decode((String, Int, Int, Int64).self) {
        figures[owner, default: .init()].wonDeals = won
        figures[owner, default: .init()].closed = closed
        figures[owner, default: .init()].won = amount
      }
    } else {
      figures = try await closedDeals(from: from, to: to, currency: &currency)
    }
    // A day counts when its UTC midnight is in [from, to): the day column is compared with the
    // first day whose midnight is at or after each end, not each row's midnight converted (the
    // same days, read without a time zone conversion per row).
    let activities = try await client.query(
      """
      SELECT author_id, sum(activities)::bigint FROM activity_counts
      WHERE (\(from)::timestamptz IS NULL
          OR day >= ((\(from)::timestamptz AT TIME ZONE 'UTC') + interval '1 day' - interval '1 microsecond')::date)
        AND (\(to)::timestamptz IS NULL
          OR day < ((\(to)::timestamptz AT TIME ZONE 'UTC') + interval '1 day' - interval '1 microsecond')::date)
      GROUP BY author_id
      """, logger: logger)
    for try await (author, count) in activities.decode((String, Int64).self) {
      figures[author, default: .init()].activities = count
    }
    let hygiene = try await client.query(
      """
      SELECT manager_id, count(*),
        sum(unprocessed_deals + deals_without_open_task + deals_with_overdue_task)::bigint
      FROM hygiene_reports
      WHERE (\(from)::timestamptz IS NULL
          OR day >= ((\(from)::timestamptz AT TIME ZONE 'UTC') + interval '1 day' - interval '1 microsecond')::date)
        AND (\(to)::timestamptz IS NULL
          OR day < ((\(to)::timestamptz AT TIME ZONE 'UTC') + interval '1 day' - interval '1 microsecond')::date)
      GROUP BY manager_id
      """, logger: logger)
    for try await (manager, days, violations) in hygiene.decode((String, Int, Int64).self) {
      figures[manager, default: .init()].reportDays = days
      figures[manager, default: .init()].violations = violations
    }
    // QC: reviews of codes that map to a known manager; unknown codes count for the team only.
    var known = try await knownManagers()
    known.formUnion(figures.keys)
    let directory = RepDirectory(codes: query.codes, managerIDs: known)
    var team = BoardFigures()
    let reviews = try await client.query(
      """
      SELECT rep_code, count(*), sum(weighted_score) FROM qc_reviews
      WHERE (\(from)::timestamptz IS NULL OR reviewed_at >= \(from)::timestamptz)
        AND (\(to)::timestamptz IS NULL OR reviewed_at < \(to)::timestamptz)
      GROUP BY rep_code
      """, logger: logger)
    for try await (code, count, sum) in reviews.decode((String, Int, Double).self) {
      team.reviews += count
      team.scoreSum += sum
      guard let manager = directory.manager(of: code) else { continue }
      figures[manager, default: .init()].reviews = count
      figures[manager, default: .init()].scoreSum = sum
    }
    for figure in figures.values {
      team.won += figure.won
      team.wonDeals += figure.wonDeals
      team.closed += figure.closed
      team.activities += figure.activities
      team.reportDays += figure.reportDays
      team.violations += figure.violations
    }
    return Self.board(figures, team: team, currency: currency ?? "", visibility: query.visibility)
  }

  /// Closed deals per owner from the deals themselves (a period that cuts a month); picks the
  /// currency of the most won deals when none was asked for.
  func closedDeals(from: Date?, to: Date?, currency: inout String?) async throws -> [String: BoardFigures] {
    if currency == nil {
      let rows = try await client.query(
        """
        SELECT currency FROM deals
        WHERE status = 'won' AND (\(from)::timestamptz IS NULL OR closed_at >= \(from)::timestamptz)
          AND (\(to)::timestamptz IS NULL OR closed_at < \(to)::timestamptz)
        GROUP BY currency ORDER BY count(*) DESC, currency LIMIT 1
        """, logger: logger)
      currency = try await rows.decode(String.self).first { _ in true }
    }
    var figures: [String: BoardFigures] = [:]
    let deals = try await client.query(
      """
      SELECT owner_id, count(*) FILTER (WHERE status = 'won'), count(*),
        coalesce(sum(amount_minor) FILTER (WHERE status = 'won' AND currency = \(currency)::text), 0)::bigint
      FROM deals
      WHERE status <> 'open' AND (\(from)::timestamptz IS NULL OR closed_at >= \(from)::timestamptz)
        AND (\(to)::timestamptz IS NULL OR closed_at < \(to)::timestamptz)
      GROUP BY owner_id
      """, logger: logger)
    for try await (owner, won, closed, amount) in deals.decode((String, Int, Int, Int64).self) {
      figures[owner, default: .init()].wonDeals = won
      figures[owner, default: .init()].closed = closed
      figures[owner, default: .init()].won = amount
    }
    return figures
  }

  static func board(_ figures: [String: BoardFigures], team: BoardFigures, currency: String, visibility: Visibility)
    -> Crm_Reporting_V1_GetLeaderboardReply
  {
    let managers = figures.keys.sorted()
    let rows = managers.map { figures[$0]! }
    let won = Ranking.ranks(rows.map { $0.closed == 0 ? nil : Double($0.won) })
    let conversion = Ranking.ranks(
      rows.map { $0.closed == 0 ? nil : WilsonInterval(successes: $0.wonDeals, trials: $0.closed).lower })
    let activities = Ranking.ranks(rows.map { $0.activities == 0 ? nil : Double($0.activities) })
    let qc = Ranking.ranks(rows.map { $0.reviews == 0 ? nil : $0.scoreSum / Double($0.reviews) })
    let discipline = Ranking.ranks(
      rows.map { $0.reportDays == 0 ? nil : Double($0.violations) / Double($0.reportDays) }, higherIsBetter: false)
    var entries = [entry("", team: true, team, ranks: [0, 0, 0, 0, 0])]
    for (index, manager) in managers.enumerated() where visibility.sees(manager) {
      entries.append(
        entry(
          manager, team: false, rows[index],
          ranks: [won[index], conversion[index], activities[index], qc[index], discipline[index]]))
    }
    // Managers by their won amount rank (unranked last), then by id.
    let ordered = entries.dropFirst().sorted {
      ($0.wonAmount.rank == 0 ? Int32.max : $0.wonAmount.rank, $0.managerID)
        < ($1.wonAmount.rank == 0 ? Int32.max : $1.wonAmount.rank, $1.managerID)
    }
    return .with {
      $0.currency = currency
      $0.managers = Int32(managers.count)
      $0.entries = [entries[0]] + ordered
    }
  }

  static func entry(_ manager: String, team: Bool, _ figures: BoardFigures, ranks: [Int32])
    -> Crm_Reporting_V1_GetLeaderboardReply.Entry
  {
    func metric(_ value: Double, _ rank: Int32) -> Crm_Reporting_V1_LeaderboardMetric {
      .with {
        $0.value = value
        $0.rank = rank
      }
    }
    let wilson = WilsonInterval(successes: figures.wonDeals, trials: figures.closed)
    return .with {
      $0.managerID = manager
      $0.team = team
      $0.wonAmount = metric(Double(figures.won), ranks[0])
      $0.wonDeals = Int64(figures.wonDeals)
      $0.conversion = metric(wilson.proportion, ranks[1])
      $0.conversionRate = wilson.rate
      $0.activities = metric(Double(figures.activities), ranks[2])
      $0.qcScore = metric(figures.reviews == 0 ? 0 : figures.scoreSum / Double(figures.reviews), ranks[3])
      $0.qcReviews = Int64(figures.reviews)
      $0.discipline = metric(
        figures.reportDays == 0 ? 0 : Double(figures.violations) / Double(figures.reportDays), ranks[4])
    }
  }
}
