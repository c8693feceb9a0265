import CRMDatabase

/// The reporting database: every event applied (`events`, append-only) and the read models
/// derived from it alone. Projections take their times from the events, never from now(), so a
/// rebuild (`ProjectionRebuild`: empty them all, replay `events` by seq) gives the same rows.
/// Versions 1–19 are the reporting core's; later sections (forecast, discipline) take 20 on.
enum ReportingSchema {
  /// Every projection table, in the order a dump lists them. A new projection joins this list,
  /// or a rebuild would leave it as it was.
  static let projectionTables = [
    "aggregate_versions", "pipelines", "pipeline_stages", "deals", "deal_versions", "stage_visits", "leads",
    "deal_activity", "activity_counts", "hygiene_reports", "qc_reviews", "card_completeness",
    // Sums over the deals (`DealAggregates`, version 31 on) and the leads (`LeadAggregates`, 35).
    "funnel_cells", "forecast_open", "forecast_closed", "leaderboard_closed", "lead_cells",
  ]
  /// The sums' tables, each with what makes a row count: a key whose rows all moved on keeps a
  /// row of zeros (the reports read past it, `HAVING sum(…) > 0`), and whether it does depends on
  /// how the events were batched, so the rows that count are the sums' content.
  static let sumTables = [
    "funnel_cells": "visits <> 0", "forecast_open": "deals <> 0", "forecast_closed": "closed <> 0",
    "leaderboard_closed": "closed <> 0", "lead_cells": "leads <> 0",
  ]
  /// The projections' serial columns (table, column): a rebuild starts them again at 1.
  static let projectionSerials = [("deals", "seq")]

  static let migrations = [
    Migration(
      version: 1,
      name: "stored events",
      statements: [
        // seq is the order of application: the rebuild replays by it. occurred_at is null only
        // for an envelope that had none. projected is false for a type reporting does not know.
        """
        CREATE TABLE events (
          seq bigserial PRIMARY KEY,
          event_id text NOT NULL UNIQUE,
          topic text NOT NULL,
          partition integer NOT NULL,
          record_offset bigint NOT NULL,
          type text NOT NULL,
          aggregate_id text NOT NULL,
          aggregate_version bigint NOT NULL,
          actor text NOT NULL,
          occurred_at timestamptz,
          payload bytea NOT NULL,
          stored_at timestamptz NOT NULL DEFAULT clock_timestamp(),
          projected boolean NOT NULL
        )
        """,
        // Freshness (stored_at − occurred_at) over a recent window, for benches.
        "CREATE INDEX events_stored_at ON events (stored_at)",
      ]
    ),
    Migration(
      version: 2,
      name: "projections: versions, pipelines, deals, stage visits",
      statements: [
        // The newest version applied per aggregate: an event at or below it changes nothing.
        """
        CREATE TABLE aggregate_versions (
          topic text NOT NULL,
          aggregate_id text NOT NULL,
          version bigint NOT NULL,
          PRIMARY KEY (topic, aggregate_id)
        )
        """,
        """
        CREATE TABLE pipelines (
          id text PRIMARY KEY,
          business_line text NOT NULL,
          name text NOT NULL,
          loss_reasons text[] NOT NULL,
          version bigint NOT NULL
        )
        """,
        // result is the stage's stated outcome, as the pipeline defines it (free text).
        """
        CREATE TABLE pipeline_stages (
          pipeline_id text NOT NULL REFERENCES pipelines (id),
          stage_id text NOT NULL,
          name text NOT NULL,
          result text NOT NULL,
          position integer NOT NULL,
          default_probability integer NOT NULL,
          retired boolean NOT NULL,
          PRIMARY KEY (pipeline_id, stage_id)
        )
        """,
        // A deal as of its newest event. seq orders pages (given in order of first event).
        // last_open_probability: the probability stated while the deal was last open (what a
        // won or lost deal was promised at). loss_kind: the kind of the last objection before
        // the loss (real or stall), null when there was none.
        """
        CREATE TABLE deals (
          id text PRIMARY KEY,
          seq bigserial UNIQUE,
          contact_id text NOT NULL,
          pipeline_id text NOT NULL,
          owner_id text NOT NULL,
          kind text NOT NULL CHECK (kind IN ('unspecified', 'consultative', 'active')),
          source text NOT NULL,
          amount_minor bigint NOT NULL,
          currency text NOT NULL,
          status text NOT NULL CHECK (status IN ('open', 'won', 'lost')),
          stage_id text NOT NULL,
          probability integer NOT NULL,
          owner_estimated boolean NOT NULL,
          expected_close date,
          opened_at timestamptz NOT NULL,
          closed_at timestamptz,
          loss_stage_id text,
          loss_reason text,
          loss_kind text CHECK (loss_kind IN ('real', 'stall')),
          lead_id text NOT NULL,
          last_moved_at timestamptz NOT NULL,
          last_open_probability integer NOT NULL,
          version bigint NOT NULL
        )
        """,
        "CREATE INDEX deals_open ON deals (pipeline_id, owner_id) WHERE status = 'open'",
        "CREATE INDEX deals_closed ON deals (closed_at) WHERE status <> 'open'",
        // One row per version of a deal: the pipeline as it stood at any past instant.
        """
        CREATE TABLE deal_versions (
          deal_id text NOT NULL,
          version bigint NOT NULL,
          occurred_at timestamptz NOT NULL,
          status text NOT NULL,
          stage_id text NOT NULL,
          owner_id text NOT NULL,
          pipeline_id text NOT NULL,
          amount_minor bigint NOT NULL,
          currency text NOT NULL,
          probability integer NOT NULL,
          owner_estimated boolean NOT NULL,
          expected_close date,
          PRIMARY KEY (deal_id, version)
        )
        """,
        "CREATE INDEX deal_versions_by_time ON deal_versions (occurred_at)",
        // A deal's stay at a stage; a skipped stage gets a visit of no length. Pipeline, owner,
        // kind and source are the deal's when it entered (the funnel's filters).
        """
        CREATE TABLE stage_visits (
          deal_id text NOT NULL,
          stage_id text NOT NULL,
          pipeline_id text NOT NULL,
          owner_id text NOT NULL,
          kind text NOT NULL,
          source text NOT NULL,
          entered_at timestamptz NOT NULL,
          left_at timestamptz,
          outcome text NOT NULL CHECK (outcome IN ('open', 'advanced', 'skipped', 'lost', 'won')),
          PRIMARY KEY (deal_id, stage_id)
        )
        """,
        "CREATE INDEX stage_visits_funnel ON stage_visits (pipeline_id, entered_at)",
      ]
    ),
    Migration(
      version: 3,
      name: "projections: leads, activity, hygiene, QC reviews, card completeness",
      statements: [
        // closed_at: when it was converted or rejected (the event's occurred_at).
        """
        CREATE TABLE leads (
          id text PRIMARY KEY,
          source text NOT NULL,
          owner_id text NOT NULL,
          business_line text NOT NULL,
          status text NOT NULL CHECK (status IN ('open', 'converted', 'rejected')),
          rejection_reason text,
          created_at timestamptz NOT NULL,
          closed_at timestamptz,
          version bigint NOT NULL
        )
        """,
        "CREATE INDEX leads_created ON leads (created_at)",
        // The latest activity on each deal (when it happened, not when it was recorded).
        "CREATE TABLE deal_activity (deal_id text PRIMARY KEY, last_activity_at timestamptz NOT NULL)",
        // Activities per author (the manager's id) per UTC day and kind.
        """
        CREATE TABLE activity_counts (
          author_id text NOT NULL,
          day date NOT NULL,
          kind text NOT NULL,
          activities bigint NOT NULL,
          PRIMARY KEY (author_id, day, kind)
        )
        """,
        // End-of-day reports (previews are not kept): the three rules' counts.
        """
        CREATE TABLE hygiene_reports (
          manager_id text NOT NULL,
          day date NOT NULL,
          unprocessed_deals integer NOT NULL,
          deals_without_open_task integer NOT NULL,
          deals_with_overdue_task integer NOT NULL,
          PRIMARY KEY (manager_id, day)
        )
        """,
        // Codes only, as quality-control published them; reporting maps rep codes to people.
        """
        CREATE TABLE qc_reviews (
          review_id text PRIMARY KEY,
          item_id text NOT NULL,
          pass integer NOT NULL,
          rep_code text NOT NULL,
          weighted_score double precision NOT NULL,
          reviewed_at timestamptz NOT NULL,
          occurred_at timestamptz
        )
        """,
        "CREATE INDEX qc_reviews_rep ON qc_reviews (rep_code, reviewed_at)",
        // Optional contact card fields filled (CardCompleteness says which count).
        """
        CREATE TABLE card_completeness (
          contact_id text PRIMARY KEY,
          owner_id text NOT NULL,
          optional_filled integer NOT NULL,
          optional_total integer NOT NULL,
          archived boolean NOT NULL
        )
        """,
        "CREATE INDEX card_completeness_owner ON card_completeness (owner_id)",
      ]
    ),
    // The forecast's (version 30 on). Its open-deals sum reads this index alone: 1M deals, 200k
    // open: 100 ms → 40 ms.
    Migration(
      version: 30,
      name: "forecast: open deals by owner, currency, probability",
      statements: [
        """
        CREATE INDEX deals_forecast_open ON deals (owner_id, currency, probability)
        INCLUDE (amount_minor, pipeline_id) WHERE status = 'open'
        """
      ]
    ),
    // The reporting benchmark's (versions 31–35): sums the funnel and the forecast read instead
    // of the deals (`DealAggregates`), filled here from the projections as they stand.
    Migration(
      version: 31,
      name: "funnel cells: visits per pipeline, kind, source, month, stage, owner",
      statements: [
        // kind '' is every kind; every_source (source '') every source. month: the UTC month
        // the visits were entered in. h0…h63: the finished stays by length (`StayHistogram`).
        """
        CREATE TABLE funnel_cells (
          pipeline_id text NOT NULL,
          kind text NOT NULL,
          every_source boolean NOT NULL,
          source text NOT NULL,
          month date NOT NULL,
          stage_id text NOT NULL,
          owner_id text NOT NULL,
          \((DealAggregates.funnelCounts + StayHistogram.columns).map { "\($0) integer NOT NULL" }.joined(separator: ",\n  ")),
          PRIMARY KEY (\(DealAggregates.funnelKey))
        )
        """,
        DealAggregates.funnelUpsert(sign: "1", filter: "true"),
      ]
    ),
    Migration(
      version: 32,
      name: "forecast sums: open deals per owner, currency, probability; closed deals per owner",
      statements: [
        // amount_minor numeric: a sum beyond Int64 is refused by the forecast, not wrapped here.
        """
        CREATE TABLE forecast_open (
          pipeline_id text NOT NULL,
          owner_id text NOT NULL,
          currency text NOT NULL,
          probability integer NOT NULL,
          deals bigint NOT NULL,
          amount_minor numeric NOT NULL,
          PRIMARY KEY (pipeline_id, owner_id, currency, probability)
        )
        """,
        """
        CREATE TABLE forecast_closed (
          pipeline_id text NOT NULL,
          owner_id text NOT NULL,
          closed bigint NOT NULL,
          won bigint NOT NULL,
          stated_percent bigint NOT NULL,
          PRIMARY KEY (pipeline_id, owner_id)
        )
        """,
      ] + DealAggregates.forecastUpserts(sign: "1", filter: "true")
    ),
    // The known managers' skip scan (`knownManagers`) of the leads.
    Migration(version: 33, name: "leads by owner", statements: ["CREATE INDEX leads_owner ON leads (owner_id)"]),
    Migration(
      version: 34,
      name: "leaderboard sums: closed deals per owner, month, currency",
      statements: [
        // month: the UTC month of the close; -infinity: every month.
        """
        CREATE TABLE leaderboard_closed (
          owner_id text NOT NULL,
          month date NOT NULL,
          currency text NOT NULL,
          closed bigint NOT NULL,
          won bigint NOT NULL,
          won_minor numeric NOT NULL,
          PRIMARY KEY (owner_id, month, currency)
        )
        """,
        DealAggregates.leaderboardUpsert(sign: "1", filter: "true"),
      ]
    ),
    Migration(
      version: 35,
      name: "lead cells: leads per month, business line, source, owner, status, rejection reason",
      statements: [
        // month: the UTC month the lead was created in; -infinity: every month.
        """
        CREATE TABLE lead_cells (
          month date NOT NULL,
          business_line text NOT NULL,
          source text NOT NULL,
          owner_id text NOT NULL,
          status text NOT NULL,
          has_reason boolean NOT NULL,
          reason text NOT NULL,
          leads bigint NOT NULL,
          PRIMARY KEY (\(LeadAggregates.key))
        )
        """,
        LeadAggregates.fill,
      ]
    ),
    Migration(
      version: 36, name: "projection versions: count the read models' changes per area (ReportMemo)",
      statements: [ProjectionVersion.table, ProjectionVersion.rows]),
  ]
}
