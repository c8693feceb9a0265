import CRMDatabase
import Logging
import PostgresNIO

/// Sums over leads that the lead funnel reads instead of a million rows, kept by the projector
/// and filled from the projections by one statement (a migration, the bench loader):
/// `lead_cells`, leads per UTC month of creation (and every month, -infinity) × business line ×
/// source × owner × status × rejection reason (`has_reason`: a rejection reason was given; the
/// reason is '' otherwise). A period's leads are the cells of the whole months in it and the
/// leads rows of the days at its ends (`MonthSplit`), so any period is counted exactly.
///
/// The projector takes the shares of a batch's leads out before it writes them and puts the new
/// shares back after (`keeping`), in its transaction: a sum is always that of the rows.
enum LeadAggregates {
  static let key = "month, business_line, source, owner_id, status, has_reason, reason"

  /// The cells of the leads `filter` picks (leads `l`), each counted `sign` times.
  static func upsert(sign: String, filter: String) -> String {
    """
    INSERT INTO lead_cells AS c (\(key), leads)
    SELECT m.month, l.business_line, l.source, l.owner_id, l.status, l.rejection_reason IS NOT NULL,
      coalesce(l.rejection_reason, ''), \(sign) * count(*)
    FROM leads l
    CROSS JOIN LATERAL (VALUES (date_trunc('month', l.created_at AT TIME ZONE 'UTC')::date), ('-infinity'::date))
      AS m (month)
    WHERE \(filter)
    GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (\(key)) DO UPDATE SET leads = c.leads + excluded.leads
    """
  }

  /// Fills the (empty) cells from the projections: a migration's and the bench loader's.
  static let fill = upsert(sign: "1", filter: "true")

  /// The batch projector's hook: `write` (a batch's lead writes) between taking the shares of
  /// `leads` out and putting them back.
  static func keeping(
    leads: [String], on connection: PostgresConnection, logger: Logger, write: () async throws -> Void
  ) async throws {
    try await SumsKeeping.keeping(leads, change: change, on: connection, logger: logger, write: write)
  }

  private static let change = upsert(sign: "$1::int", filter: "l.id = ANY($2::text[])")
}
