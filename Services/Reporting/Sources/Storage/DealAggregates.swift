import CRMDatabase
import Logging
import PostgresNIO

/// Sums over deals that the funnel and the forecast read instead of a million rows, kept by the
/// projector and filled from the projections by one statement (a migration, the bench loader):
///
/// - `funnel_cells`: the stage visits per pipeline × kind × source × UTC month of entry × stage ×
///   owner, with their outcomes, the deal's status (conversion to won) and a `StayHistogram` of the
///   finished stays; also with every kind (kind ''), every source (every_source) and both, so a
///   request reads one slice, and with every month (-infinity), so all time reads one month.
/// - `forecast_open`: open deals per pipeline × owner × currency × probability, their count and
///   amount; `forecast_closed`: closed deals per pipeline × owner, won, Σ the last probability
///   stated while open (calibration); `leaderboard_closed`: closed deals per owner × UTC month of
///   the close × currency, won, the won amount.
///
/// The projector takes the shares of a batch's deals out before it writes their events and puts
/// the new shares back after (`keeping`), in its transaction: a sum is always that of the rows.
enum DealAggregates {
  static let funnelKey = "pipeline_id, kind, every_source, source, month, stage_id, owner_id"
  static let funnelCounts = [
    "visits", "entered", "advanced", "lost", "won", "open", "skipped", "won_later", "closed", "left_stays",
  ]

  /// The funnel cells of the visits `filter` picks (stage_visits `s` joined with deals `d`),
  /// each counted `sign` times (1 or −1, or `$1`). The visits are counted per cell of their own
  /// kind and source and stay bucket first (few conditions on many rows), those counts spread
  /// into the histogram's columns, then summed into the cells of every kind, every source, both,
  /// and into those of every month (month -infinity: a report of all time reads one row a cell).
  static func funnelUpsert(sign: String, filter: String) -> String {
    let counts = [
      "count(*)", "count(*) FILTER (WHERE s.outcome <> 'skipped')", "count(*) FILTER (WHERE s.outcome = 'advanced')",
      "count(*) FILTER (WHERE s.outcome = 'lost')", "count(*) FILTER (WHERE s.outcome = 'won')",
      "count(*) FILTER (WHERE s.outcome = 'open')", "count(*) FILTER (WHERE s.outcome = 'skipped')",
      "count(*) FILTER (WHERE s.outcome <> 'skipped' AND d.status = 'won')",
      "count(*) FILTER (WHERE s.outcome <> 'skipped' AND d.status <> 'open')",
      "count(*) FILTER (WHERE b.bucket IS NOT NULL)",
    ]
    let ownKey = "pipeline_id, kind, source, month, stage_id, owner_id"
    let spread =
      funnelCounts.map { "sum(\($0)) AS \($0)" }
      + StayHistogram.columns.enumerated().map { "coalesce(sum(left_stays) FILTER (WHERE bucket = \($0)), 0) AS \($1)" }
    let measures = funnelCounts + StayHistogram.columns
    return """
      INSERT INTO funnel_cells AS c (\(funnelKey), \(measures.joined(separator: ", ")))
      SELECT pipeline_id, r.kind, r.every_source, r.source, m.month, stage_id, owner_id,
        \(measures.map { "\(sign) * sum(\($0))" }.joined(separator: ", "))
      FROM (
        SELECT \(ownKey), \(spread.joined(separator: ", "))
        FROM (
          SELECT s.pipeline_id, s.kind, s.source, date_trunc('month', s.entered_at AT TIME ZONE 'UTC')::date AS month,
            s.stage_id, s.owner_id, b.bucket, \(zip(counts, funnelCounts).map { "\($0) AS \($1)" }.joined(separator: ", "))
          FROM stage_visits s JOIN deals d ON d.id = s.deal_id
          CROSS JOIN LATERAL (SELECT \(StayHistogram.sqlBucket) AS bucket) b
          WHERE \(filter)
          GROUP BY 1, 2, 3, 4, 5, 6, 7) by_bucket
        GROUP BY \(ownKey)) own
      CROSS JOIN LATERAL (
        VALUES (own.kind, false, own.source), ('', false, own.source), (own.kind, true, ''), ('', true, ''))
        AS r (kind, every_source, source)
      CROSS JOIN LATERAL (VALUES (own.month), ('-infinity'::date)) AS m (month)
      GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
      ON CONFLICT (\(funnelKey)) DO UPDATE SET
        \(measures.map { "\($0) = c.\($0) + excluded.\($0)" }.joined(separator: ", "))
      """
  }

  static func forecastUpserts(sign: String, filter: String) -> [String] {
    [
      """
      INSERT INTO forecast_open AS f (pipeline_id, owner_id, currency, probability, deals, amount_minor)
      SELECT pipeline_id, owner_id, currency, probability, \(sign) * count(*), \(sign) * sum(amount_minor)
      FROM deals d WHERE d.status = 'open' AND \(filter)
      GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
      ON CONFLICT (pipeline_id, owner_id, currency, probability) DO UPDATE SET deals = f.deals + excluded.deals,
        amount_minor = f.amount_minor + excluded.amount_minor
      """,
      """
      INSERT INTO forecast_closed AS f (pipeline_id, owner_id, closed, won, stated_percent)
      SELECT pipeline_id, owner_id, \(sign) * count(*), \(sign) * count(*) FILTER (WHERE d.status = 'won'),
        \(sign) * sum(last_open_probability)
      FROM deals d WHERE d.status <> 'open' AND \(filter)
      GROUP BY 1, 2 ORDER BY 1, 2
      ON CONFLICT (pipeline_id, owner_id) DO UPDATE SET closed = f.closed + excluded.closed,
        won = f.won + excluded.won, stated_percent = f.stated_percent + excluded.stated_percent
      """,
    ]
  }

  /// The leaderboard's: closed deals per owner, UTC month of the close (and every month,
  /// -infinity), currency.
  static func leaderboardUpsert(sign: String, filter: String) -> String {
    """
    INSERT INTO leaderboard_closed AS f (owner_id, month, currency, closed, won, won_minor)
    SELECT owner_id, m.month, currency, \(sign) * count(*), \(sign) * count(*) FILTER (WHERE d.status = 'won'),
      \(sign) * coalesce(sum(amount_minor) FILTER (WHERE d.status = 'won'), 0)
    FROM deals d
    CROSS JOIN LATERAL (VALUES (date_trunc('month', d.closed_at AT TIME ZONE 'UTC')::date), ('-infinity'::date))
      AS m (month)
    WHERE d.status <> 'open' AND m.month IS NOT NULL AND \(filter)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (owner_id, month, currency) DO UPDATE SET closed = f.closed + excluded.closed,
      won = f.won + excluded.won, won_minor = f.won_minor + excluded.won_minor
    """
  }

  /// Fills the (empty) aggregates from the projections: a migration's and the bench loader's.
  static var fill: [String] {
    [funnelUpsert(sign: "1", filter: "true")] + forecastUpserts(sign: "1", filter: "true")
      + [leaderboardUpsert(sign: "1", filter: "true")]
  }

  /// Deals `$2`'s whole shares (every visit), counted `$1` times: the batch projector's.
  private static let changeOfDeals = """
    WITH funnel_change AS (
    \(funnelUpsert(sign: "$1::int", filter: "s.deal_id = ANY($2::text[])"))
    ), open_change AS (
    \(forecastUpserts(sign: "$1::int", filter: "d.id = ANY($2::text[])")[0])
    ), closed_change AS (
    \(forecastUpserts(sign: "$1::int", filter: "d.id = ANY($2::text[])")[1])
    )
    \(leaderboardUpsert(sign: "$1::int", filter: "d.id = ANY($2::text[])"))
    """

  /// The batch projector's hook: `write` (a batch's deal and visit writes) between taking the
  /// shares of `deals` out and putting them back — whole shares, so whatever the batch did to a
  /// deal (several steps, a status change) the sums stay those of the rows.
  static func keeping(
    deals: [String], on connection: PostgresConnection, logger: Logger, write: () async throws -> Void
  ) async throws {
    try await SumsKeeping.keeping(deals, change: changeOfDeals, on: connection, logger: logger, write: write)
  }
}
