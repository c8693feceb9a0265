import ArgumentParser
import CRMReview
import Foundation
import Logging
import PostgresNIO
import ReportingService

/// Fills reporting's projections for `crm-bench reporting` with server-side SQL (generate_series,
/// no row from Swift), as three years of events would have left them: two pipelines (7 and 6
/// stages), 40 managers of different skill (share won), optimism (estimates above the stage's
/// default) and pace (time in stage), kinds, six sources; deals won at the last stage, lost or
/// open at an earlier one, passing over a stage now and then; a version per stage entered and
/// one for the close (the last open probability carried into it); a converted lead per deal and
/// more rejected or open ones; activity counts and end-of-day reports per manager and working
/// day; QC reviews under the managers' rep codes (and four codes of nobody); contact cards.
/// Then the sums the reports read (`ReportingComponents.refillAggregates`) and ANALYZE.
struct ReportingBenchLoader {
  static let managers = 40
  static let sources = ["site", "referral", "cold-call", "exhibition", "partner", ""]

  var deals: Int
  var transitions: Int
  var codes: ReviewCodes
  var now: Date

  static func manager(_ index: Int) -> String { "manager-" + (index < 10 ? "0" : "") + String(index) }

  /// The exponent that spreads the final stage of deals not won so that the visits (stage
  /// transitions) come near `transitions`: a won deal visits every stage (6.5 on average, about
  /// 30% are won), one not won reaches floor(S × u^e) (u uniform), about S / (e + 1) + ½ visits.
  var spread: Double {
    let perDeal = Double(transitions) / Double(max(deals, 1))
    let notWon = max(1.01, (perDeal - 0.3 * 6.5) / 0.7)
    return min(50, max(0.01, 6.5 / (notWon - 0.5) - 1))
  }

  /// Loads unless this schema holds a finished load of the same size already (a schema kept with
  /// `--history-schema`); true when it loaded. A load that stopped half-way is refused, not topped up.
  func loadOnce(client: PostgresClient, logger: Logger) async throws -> Bool {
    _ = try await client.query(
      """
      CREATE TABLE IF NOT EXISTS bench_history (
        deals bigint NOT NULL, transitions bigint NOT NULL, loaded_at timestamptz NOT NULL)
      """, logger: logger
    ).collect()
    let kept = try await client.query("SELECT deals, transitions FROM bench_history", logger: logger)
      .collect().map { try $0.decode((Int, Int).self) }.first
    if let kept {
      guard kept == (deals, transitions) else {
        throw ValidationError(
          "the kept schema holds \(kept.0) deals and \(kept.1) transitions, not \(deals) and \(transitions): "
            + "name another --history-schema")
      }
      return false
    }
    let anyDeal =
      try await client.query("SELECT count(*) FROM (SELECT 1 FROM deals LIMIT 1) d", logger: logger)
      .collect().map { try $0.decode(Int.self) }.first ?? 0
    guard anyDeal == 0 else {
      throw ValidationError("the kept schema holds a load that stopped half-way: drop it (DROP SCHEMA … CASCADE)")
    }
    try await load(client: client, logger: logger)
    _ = try await client.query(
      "INSERT INTO bench_history VALUES (\(deals), \(transitions), now())", logger: logger
    ).collect()
    return true
  }

  /// Loads on one connection (its session settings: a large sort memory for the windows).
  func load(client: PostgresClient, logger: Logger) async throws {
    try await client.withConnection { connection in
      func run(_ query: PostgresQuery) async throws {
        _ = try await connection.query(query, logger: logger).collect()
      }
      for setting in ["work_mem = '256MB'", "maintenance_work_mem = '512MB'", "synchronous_commit = off"] {
        try await run(PostgresQuery(unsafeSQL: "SET " + setting))
      }
      _ = try await connection.query("SELECT setseed(0.42)", logger: logger).collect()
      // Secondary indexes are built once at the end, not row by row.
      let indexes = try await connection.query(
        """
        SELECT indexname, indexdef FROM pg_indexes i
        WHERE schemaname = current_schema()
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
        """, logger: logger
      ).collect().map { try $0.decode((String, String).self) }
      for (name, _) in indexes { try await run(PostgresQuery(unsafeSQL: "DROP INDEX \"\(name)\"")) }
      for statement in statements { try await run(statement) }
      for (_, definition) in indexes { try await run(PostgresQuery(unsafeSQL: definition)) }
    }
    try await ReportingComponents.refillAggregates(client: client, logger: logger)
  }

  private var statements: [PostgresQuery] {
    let deals = self.deals
    let contacts = max(1, deals * 4 / 5)
    let spread = self.spread
    let now = self.now
    let sources = Self.sources
    let managers = Self.managers
    // The managers' rep codes, then four codes of nobody.
    let repCodes =
      (0..<managers).map { codes.code(.rep, Self.manager($0)) } + (0..<4).map { codes.code(.rep, "left-\($0)") }
    return [
      """
      INSERT INTO pipelines (id, business_line, name, loss_reasons, version) VALUES
        ('p-consult', 'equipment', 'Equipment (consultative)', ARRAY['price', 'competitor', 'no budget', 'timing'], 1),
        ('p-active', 'service', 'Service contracts (active)', ARRAY['price', 'competitor', 'no need'], 1)
      """,
      """
      INSERT INTO pipeline_stages (pipeline_id, stage_id, name, result, position, default_probability, retired)
      SELECT p, 'stage-' || k, 'Stage ' || k, 'Stage ' || k || ' done', k, 100 * k / (n + 1), false
      FROM (VALUES ('p-consult', 7), ('p-active', 6)) AS t (p, n), generate_series(1, n) k
      """,
      // One row per deal: who, what, how it ends and at which stage (0-based `final`).
      """
      CREATE UNLOGGED TABLE bench_deal_plan AS
      SELECT i, 'd' || lpad(i::text, 8, '0') AS id, pipeline, stages, 'manager-' || lpad(m::text, 2, '0') AS owner,
        0.7 + 0.6 * ((m * 13) % \(managers)) / \(Double(managers))::float8 AS optimism,
        0.5 + ((m * 7) % \(managers)) / \(Double(managers))::float8 AS pace,
        CASE WHEN r_kind < 0.05 THEN 'unspecified' WHEN pipeline = 'p-consult' THEN 'consultative' ELSE 'active' END
          AS kind,
        (\(sources)::text[])[1 + floor(r_source * \(sources.count))::int] AS source, status,
        CASE WHEN status = 'won' THEN stages - 1
          ELSE least(stages - 1, floor(stages * r_final ^ \(spread)::float8)::int) END AS final,
        (exp(r_amount * ln(1000)) * 1000000)::bigint AS amount,
        CASE WHEN r_currency < 0.85 THEN 'RUB' WHEN r_currency < 0.95 THEN 'USD' ELSE 'EUR' END AS currency,
        r_open
      FROM (
        SELECT i, m, pipeline, CASE pipeline WHEN 'p-consult' THEN 7 ELSE 6 END AS stages, r_kind, r_source,
          r_final, r_amount, r_currency, r_open,
          CASE WHEN r_status < 0.3 * (0.6 + 0.8 * ((m * 37) % \(managers)) / \(Double(managers))::float8) THEN 'won'
            WHEN r_status < 0.78 THEN 'lost' ELSE 'open' END AS status
        FROM (
          SELECT i, floor(random() * \(managers))::int AS m,
            CASE WHEN random() < 0.5 THEN 'p-consult' ELSE 'p-active' END AS pipeline,
            random() AS r_kind, random() AS r_source, random() AS r_final, random() AS r_amount,
            random() AS r_currency, random() AS r_open, random() AS r_status
          FROM generate_series(1, \(deals)) i) r) d
      """,
      // The visits: a stay of exponential length (longer at later stages, by the owner's pace,
      // at most 90 days); 8% of the stages between the first and the last passed over. A closed
      // deal ends within the three years, an open one stays at its last stage until now.
      """
      INSERT INTO stage_visits (deal_id, stage_id, pipeline_id, owner_id, kind, source, entered_at, left_at, outcome)
      SELECT id, 'stage-' || (k + 1), pipeline, owner, kind, source, opened + make_interval(secs => before),
        CASE WHEN outcome <> 'open' THEN opened + make_interval(secs => before + dur) END, outcome
      FROM (
        SELECT id, k, pipeline, owner, kind, source, outcome, dur, sum(dur) OVER w - dur AS before,
          \(now)::timestamptz - make_interval(secs => sum(dur) OVER deal)
            - CASE WHEN status = 'open' THEN r_open * interval '365 days'
              ELSE r_open * (interval '1095 days' - make_interval(secs => sum(dur) OVER deal)) END AS opened
        FROM (
          SELECT id, i, k, pipeline, owner, kind, source, status, r_open,
            CASE WHEN skipped THEN 'skipped' WHEN k < final THEN 'advanced' ELSE status END AS outcome,
            CASE WHEN skipped THEN 0 ELSE least(7776000, -ln(1 - r_dur) * 172800 * (1 + k * 0.4) * pace) END AS dur
          FROM (
            SELECT d.*, k, k > 0 AND k < final AND random() < 0.08 AS skipped, random() AS r_dur
            FROM bench_deal_plan d, generate_series(0, d.final) k) v0) v
        WINDOW w AS (PARTITION BY i ORDER BY k), deal AS (PARTITION BY i)) x
      """,
      // 40% of the deals carry the owner's estimate (his optimism × the stage's default).
      """
      INSERT INTO deals (id, contact_id, pipeline_id, owner_id, kind, source, amount_minor, currency, status, stage_id,
        probability, owner_estimated, expected_close, opened_at, closed_at, loss_stage_id, loss_reason, loss_kind,
        lead_id, last_moved_at, last_open_probability, version)
      SELECT d.id, 'c' || (d.i % \(contacts)), d.pipeline, d.owner, d.kind, d.source, d.amount, d.currency, d.status,
        'stage-' || (d.final + 1), p.probability, d.estimated,
        (v.opened + (30 + d.r_open * 60) * interval '1 day')::date, v.opened, v.closed,
        CASE WHEN d.status = 'lost' THEN 'stage-' || (d.final + 1) END,
        CASE WHEN d.status = 'lost' THEN (ARRAY['price', 'competitor', 'timing'])[1 + d.i % 3] END,
        CASE WHEN d.status = 'lost' THEN (ARRAY['real', 'stall', NULL])[1 + d.i % 3] END,
        'l' || d.i, v.last_moved, p.probability, v.entered + CASE WHEN d.status = 'open' THEN 0 ELSE 1 END
      FROM (SELECT *, (i * 7) % 10 < 4 AS estimated FROM bench_deal_plan) d
      JOIN (
        SELECT deal_id, min(entered_at) AS opened, max(entered_at) FILTER (WHERE outcome <> 'skipped') AS last_moved,
          max(left_at) FILTER (WHERE outcome IN ('won', 'lost')) AS closed,
          count(*) FILTER (WHERE outcome <> 'skipped') AS entered
        FROM stage_visits GROUP BY deal_id) v ON v.deal_id = d.id
      CROSS JOIN LATERAL (
        SELECT CASE WHEN d.estimated
          THEN least(95, round(100.0 * (d.final + 1) / (d.stages + 1) * d.optimism)::int)
          ELSE 100 * (d.final + 1) / (d.stages + 1) END AS probability) p
      """,
      // A version per stage entered, then the close (at the last open probability).
      """
      INSERT INTO deal_versions (deal_id, version, occurred_at, status, stage_id, owner_id, pipeline_id, amount_minor,
        currency, probability, owner_estimated, expected_close)
      SELECT s.deal_id, row_number() OVER (PARTITION BY s.deal_id ORDER BY s.entered_at, s.stage_id), s.entered_at,
        'open', s.stage_id, d.owner_id, d.pipeline_id, d.amount_minor, d.currency,
        CASE WHEN d.owner_estimated THEN least(95, round(ps.default_probability * o.optimism)::int)
          ELSE ps.default_probability END,
        d.owner_estimated, d.expected_close
      FROM stage_visits s JOIN deals d ON d.id = s.deal_id
      JOIN pipeline_stages ps ON ps.pipeline_id = s.pipeline_id AND ps.stage_id = s.stage_id
      JOIN (SELECT DISTINCT owner, optimism FROM bench_deal_plan) o ON o.owner = d.owner_id
      WHERE s.outcome <> 'skipped'
      """,
      """
      INSERT INTO deal_versions (deal_id, version, occurred_at, status, stage_id, owner_id, pipeline_id, amount_minor,
        currency, probability, owner_estimated, expected_close)
      SELECT id, version, closed_at, status, stage_id, owner_id, pipeline_id, amount_minor, currency, probability,
        owner_estimated, expected_close
      FROM deals WHERE status <> 'open'
      """,
      """
      INSERT INTO leads (id, source, owner_id, business_line, status, rejection_reason, created_at, closed_at, version)
      SELECT lead_id, source, owner_id, CASE pipeline_id WHEN 'p-consult' THEN 'equipment' ELSE 'service' END,
        'converted', NULL, opened_at - interval '2 days', opened_at, 2
      FROM deals
      """,
      """
      INSERT INTO leads (id, source, owner_id, business_line, status, rejection_reason, created_at, closed_at, version)
      SELECT 'l-x' || i, (\(sources)::text[])[1 + i % \(sources.count)], 'manager-' || lpad((i % \(managers))::text, 2, '0'),
        CASE WHEN i % 2 = 0 THEN 'equipment' ELSE 'service' END,
        CASE WHEN i % 5 = 0 THEN 'open' ELSE 'rejected' END, CASE WHEN i % 5 <> 0 THEN 'not a fit' END,
        \(now)::timestamptz - (i % 1095) * interval '1 day',
        CASE WHEN i % 5 <> 0 THEN \(now)::timestamptz - (i % 1095) * interval '1 day' + interval '3 days' END, 2
      FROM generate_series(1, \(deals / 4)) i
      """,
      """
      INSERT INTO activity_counts (author_id, day, kind, activities)
      SELECT 'manager-' || lpad(m::text, 2, '0'), (day AT TIME ZONE 'UTC')::date, kind, 1 + floor(random() * 12)::int
      FROM generate_series(0, \(managers - 1)) m,
        generate_series(\(now)::timestamptz - interval '1095 days', \(now)::timestamptz, interval '1 day') day,
        unnest(ARRAY['call', 'email', 'meeting', 'message', 'note']) kind
      WHERE extract(isodow FROM day AT TIME ZONE 'UTC') < 6
      """,
      """
      INSERT INTO hygiene_reports (manager_id, day, unprocessed_deals, deals_without_open_task, deals_with_overdue_task)
      SELECT 'manager-' || lpad(m::text, 2, '0'), (day AT TIME ZONE 'UTC')::date, floor(random() * 4)::int,
        floor(random() * (m % 5))::int, floor(random() * 3)::int
      FROM generate_series(0, \(managers - 1)) m,
        generate_series(\(now)::timestamptz - interval '1095 days', \(now)::timestamptz, interval '1 day') day
      WHERE extract(isodow FROM day AT TIME ZONE 'UTC') < 6
      """,
      """
      INSERT INTO qc_reviews (review_id, item_id, pass, rep_code, weighted_score, reviewed_at, occurred_at)
      SELECT 'r' || i, 'item-' || (i / 2), 1 + i % 2, (\(repCodes)::text[])[1 + i % \(repCodes.count)], 40 + random() * 60,
        \(now)::timestamptz - random() * interval '1095 days', NULL
      FROM generate_series(1, \(max(1, deals / 10))) i
      """,
      """
      INSERT INTO card_completeness (contact_id, owner_id, optional_filled, optional_total, archived)
      SELECT 'c' || i, 'manager-' || lpad((i % \(managers))::text, 2, '0'), (i * 7) % 9, 8, i % 50 = 0
      FROM generate_series(0, \(contacts - 1)) i
      """,
      "DROP TABLE bench_deal_plan",
    ]
  }
}
