import Foundation
import PostgresNIO

/// The projector's statements: each prepared once per connection (PostgreSQL parses and plans
/// it once) and executed with one array per column, one element per row, so a batch of events
/// is a handful of executions whatever its size. A column that may be null travels as a value
/// array and a "has" array (postgres-nio encodes no arrays of optionals).
protocol ProjectionWrite: PostgresPreparedStatement where Row == () {
  var bindings: PostgresBindings { get }
}

extension ProjectionWrite {
  func makeBindings() -> PostgresBindings { bindings }
  func decodeRow(_ row: PostgresRow) throws {}
}

extension PostgresBindings {
  /// Appends each array as one parameter.
  fileprivate init(_ build: (inout PostgresBindings) -> Void) {
    self.init()
    build(&self)
  }

  /// A nullable column: its values (a placeholder where null) and whether each is there.
  fileprivate mutating func appendNullable<Value: PostgresArrayEncodable & PostgresNonThrowingEncodable>(
    _ values: [Value?], placeholder: Value
  ) {
    append(values.map { $0 ?? placeholder })
    append(values.map { $0 != nil })
  }
}

/// Locks the stored versions of the batch's aggregates (in key order: two batches never wait
/// on each other crosswise) and reads them.
struct LockAggregateVersions: PostgresPreparedStatement {
  typealias Row = (String, String, Int64)
  static let sql = """
    SELECT a.topic, a.aggregate_id, a.version
    FROM aggregate_versions a
    JOIN unnest($1::text[], $2::text[]) AS k (topic, aggregate_id) USING (topic, aggregate_id)
    ORDER BY a.topic, a.aggregate_id
    FOR UPDATE OF a
    """
  let bindings: PostgresBindings

  init(topics: [String], aggregateIDs: [String]) {
    bindings = PostgresBindings {
      $0.append(topics)
      $0.append(aggregateIDs)
    }
  }

  func makeBindings() -> PostgresBindings { bindings }
  func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Each aggregate's newest applied version (never lowered).
struct AdvanceAggregateVersions: ProjectionWrite {
  static let sql = """
    INSERT INTO aggregate_versions (topic, aggregate_id, version)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
    ON CONFLICT (topic, aggregate_id) DO UPDATE SET version = excluded.version
    WHERE aggregate_versions.version < excluded.version
    """
  let bindings: PostgresBindings

  init(topics: [String], aggregateIDs: [String], versions: [Int64]) {
    bindings = PostgresBindings {
      $0.append(topics)
      $0.append(aggregateIDs)
      $0.append(versions)
    }
  }
}

/// The deals of a batch with their version rows, in one statement. A deal already stored is
/// updated (its derived columns keep the stored value where the batch brings none); a new one
/// is inserted, in order of first event, so `seq` follows first events whatever the batches
/// were (no value of the sequence is spent on a deal that exists).
struct WriteDeals: ProjectionWrite {
  static let sql = """
    WITH versions AS (
      INSERT INTO deal_versions (deal_id, version, occurred_at, status, stage_id, owner_id, pipeline_id,
        amount_minor, currency, probability, owner_estimated, expected_close)
      SELECT deal_id, version, occurred_at, status, stage_id, owner_id, pipeline_id, amount_minor, currency,
        probability, owner_estimated, CASE WHEN has_close THEN expected_close::date END
      FROM unnest($1::text[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::bigint[], $9::text[], $10::int[], $11::bool[], $12::text[], $13::bool[])
        AS v (deal_id, version, occurred_at, status, stage_id, owner_id, pipeline_id, amount_minor, currency,
          probability, owner_estimated, expected_close, has_close)
      ON CONFLICT (deal_id, version) DO NOTHING
    ),
    batch AS (
      SELECT id, contact_id, pipeline_id, owner_id, kind, source, amount_minor, currency, status, stage_id,
        probability, owner_estimated, CASE WHEN has_close THEN expected_close::date END AS expected_close,
        opened_at, CASE WHEN has_closed_at THEN closed_at END AS closed_at,
        CASE WHEN has_loss_stage THEN loss_stage_id END AS loss_stage_id,
        CASE WHEN has_loss_reason THEN loss_reason END AS loss_reason,
        CASE WHEN has_loss_kind THEN loss_kind END AS loss_kind, lead_id, version,
        CASE WHEN has_moved THEN moved_at END AS moved_at,
        CASE WHEN has_open_probability THEN open_probability END AS open_probability,
        first_opened_at, first_probability, position
      FROM unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::bigint[],
        $21::text[], $22::text[], $23::text[], $24::int[], $25::bool[], $26::text[], $27::bool[],
        $28::timestamptz[], $29::timestamptz[], $30::bool[], $31::text[], $32::bool[], $33::text[], $34::bool[],
        $35::text[], $36::bool[], $37::text[], $38::bigint[], $39::timestamptz[], $40::bool[], $41::int[],
        $42::bool[], $43::timestamptz[], $44::int[]) WITH ORDINALITY
        AS b (id, contact_id, pipeline_id, owner_id, kind, source, amount_minor, currency, status, stage_id,
          probability, owner_estimated, expected_close, has_close, opened_at, closed_at, has_closed_at,
          loss_stage_id, has_loss_stage, loss_reason, has_loss_reason, loss_kind, has_loss_kind, lead_id, version,
          moved_at, has_moved, open_probability, has_open_probability, first_opened_at, first_probability,
          position)
    ),
    updated AS (
      UPDATE deals SET contact_id = b.contact_id, pipeline_id = b.pipeline_id, owner_id = b.owner_id,
        kind = b.kind, source = b.source, amount_minor = b.amount_minor, currency = b.currency, status = b.status,
        stage_id = b.stage_id, probability = b.probability, owner_estimated = b.owner_estimated,
        expected_close = b.expected_close, opened_at = b.opened_at, closed_at = b.closed_at,
        loss_stage_id = b.loss_stage_id, loss_reason = b.loss_reason, loss_kind = b.loss_kind, lead_id = b.lead_id,
        last_moved_at = coalesce(b.moved_at, deals.last_moved_at),
        last_open_probability = coalesce(b.open_probability, deals.last_open_probability), version = b.version
      FROM batch b WHERE deals.id = b.id
    )
    INSERT INTO deals (id, contact_id, pipeline_id, owner_id, kind, source, amount_minor, currency, status,
      stage_id, probability, owner_estimated, expected_close, opened_at, closed_at, loss_stage_id, loss_reason,
      loss_kind, lead_id, last_moved_at, last_open_probability, version)
    SELECT id, contact_id, pipeline_id, owner_id, kind, source, amount_minor, currency, status, stage_id,
      probability, owner_estimated, expected_close, opened_at, closed_at, loss_stage_id, loss_reason, loss_kind,
      lead_id, coalesce(moved_at, first_opened_at), coalesce(open_probability, first_probability), version
    FROM batch b WHERE NOT EXISTS (SELECT 1 FROM deals d WHERE d.id = b.id)
    ORDER BY position
    """
  let bindings: PostgresBindings

  init(_ deals: [ProjectionBatch.DealFold], versions: [DealRow]) {
    bindings = PostgresBindings {
      $0.append(versions.map(\.id))
      $0.append(versions.map(\.version))
      $0.append(versions.map(\.occurredAt))
      $0.append(versions.map(\.status))
      $0.append(versions.map(\.stageID))
      $0.append(versions.map(\.ownerID))
      $0.append(versions.map(\.pipelineID))
      $0.append(versions.map(\.amountMinor))
      $0.append(versions.map(\.currency))
      $0.append(versions.map(\.probability))
      $0.append(versions.map(\.ownerEstimated))
      $0.appendNullable(versions.map(\.expectedClose), placeholder: "")
      let rows = deals.map(\.row)
      $0.append(rows.map(\.id))
      $0.append(rows.map(\.contactID))
      $0.append(rows.map(\.pipelineID))
      $0.append(rows.map(\.ownerID))
      $0.append(rows.map(\.kind))
      $0.append(rows.map(\.source))
      $0.append(rows.map(\.amountMinor))
      $0.append(rows.map(\.currency))
      $0.append(rows.map(\.status))
      $0.append(rows.map(\.stageID))
      $0.append(rows.map(\.probability))
      $0.append(rows.map(\.ownerEstimated))
      $0.appendNullable(rows.map(\.expectedClose), placeholder: "")
      $0.append(rows.map(\.openedAt))
      $0.appendNullable(rows.map(\.closedAt), placeholder: Date(timeIntervalSince1970: 0))
      $0.appendNullable(rows.map(\.lossStageID), placeholder: "")
      $0.appendNullable(rows.map(\.lossReason), placeholder: "")
      $0.appendNullable(rows.map(\.lossKind), placeholder: "")
      $0.append(rows.map(\.leadID))
      $0.append(rows.map(\.version))
      $0.appendNullable(deals.map(\.movedAt), placeholder: Date(timeIntervalSince1970: 0))
      $0.appendNullable(deals.map(\.openProbability), placeholder: 0)
      $0.append(deals.map(\.firstOpenedAt))
      $0.append(deals.map(\.firstProbability))
    }
  }
}

/// The outcome of every visit stored for the batch's deals.
struct ReadStageVisits: PostgresPreparedStatement {
  typealias Row = (String, String, String)
  static let sql = "SELECT deal_id, stage_id, outcome FROM stage_visits WHERE deal_id = ANY($1::text[])"
  let bindings: PostgresBindings

  init(dealIDs: [String]) {
    bindings = PostgresBindings { $0.append(dealIDs) }
  }

  func makeBindings() -> PostgresBindings { bindings }
  func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

/// Visits entered (inserted) and ended (an existing row gets its end only).
struct WriteStageVisits: ProjectionWrite {
  static let sql = """
    INSERT INTO stage_visits (deal_id, stage_id, pipeline_id, owner_id, kind, source, entered_at, left_at, outcome)
    SELECT deal_id, stage_id, pipeline_id, owner_id, kind, source, entered_at,
      CASE WHEN has_left THEN left_at END, outcome
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],
      $8::timestamptz[], $9::bool[], $10::text[])
      AS v (deal_id, stage_id, pipeline_id, owner_id, kind, source, entered_at, left_at, has_left, outcome)
    ON CONFLICT (deal_id, stage_id) DO UPDATE SET left_at = excluded.left_at, outcome = excluded.outcome
    """
  let bindings: PostgresBindings

  init(_ visits: [StageVisitPlan.Visit]) {
    bindings = PostgresBindings {
      $0.append(visits.map(\.dealID))
      $0.append(visits.map(\.stageID))
      $0.append(visits.map(\.pipelineID))
      $0.append(visits.map(\.ownerID))
      $0.append(visits.map(\.kind))
      $0.append(visits.map(\.source))
      $0.append(visits.map(\.enteredAt))
      $0.appendNullable(visits.map(\.leftAt), placeholder: Date(timeIntervalSince1970: 0))
      $0.append(visits.map(\.outcome))
    }
  }
}

/// Leads as their last event left them.
struct WriteLeads: ProjectionWrite {
  static let sql = """
    INSERT INTO leads (id, source, owner_id, business_line, status, rejection_reason, created_at, closed_at, version)
    SELECT id, source, owner_id, business_line, status, CASE WHEN has_reason THEN rejection_reason END, created_at,
      CASE WHEN has_closed THEN closed_at END, version
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bool[],
      $8::timestamptz[], $9::timestamptz[], $10::bool[], $11::bigint[])
      AS l (id, source, owner_id, business_line, status, rejection_reason, has_reason, created_at, closed_at,
        has_closed, version)
    ON CONFLICT (id) DO UPDATE SET source = excluded.source, owner_id = excluded.owner_id,
      business_line = excluded.business_line, status = excluded.status,
      rejection_reason = excluded.rejection_reason, created_at = excluded.created_at,
      closed_at = excluded.closed_at, version = excluded.version
    """
  let bindings: PostgresBindings

  init(_ leads: [LeadRow]) {
    bindings = PostgresBindings {
      $0.append(leads.map(\.id))
      $0.append(leads.map(\.source))
      $0.append(leads.map(\.ownerID))
      $0.append(leads.map(\.businessLine))
      $0.append(leads.map(\.status))
      $0.appendNullable(leads.map(\.rejectionReason), placeholder: "")
      $0.append(leads.map(\.createdAt))
      $0.appendNullable(leads.map(\.closedAt), placeholder: Date(timeIntervalSince1970: 0))
      $0.append(leads.map(\.version))
    }
  }
}

/// Activities counted per author, UTC day and kind, and each deal's latest activity.
struct WriteActivities: ProjectionWrite {
  static let sql = """
    WITH counted AS (
      INSERT INTO activity_counts (author_id, day, kind, activities)
      SELECT author_id, (occurred_at AT TIME ZONE 'UTC')::date, kind, count(*)
      FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS a (author_id, occurred_at, kind)
      GROUP BY 1, 2, 3
      ON CONFLICT (author_id, day, kind) DO UPDATE SET activities = activity_counts.activities + excluded.activities
    )
    INSERT INTO deal_activity (deal_id, last_activity_at)
    SELECT deal_id, max(occurred_at) FROM unnest($4::text[], $5::timestamptz[]) AS d (deal_id, occurred_at)
    GROUP BY deal_id
    ON CONFLICT (deal_id) DO UPDATE
    SET last_activity_at = greatest(deal_activity.last_activity_at, excluded.last_activity_at)
    """
  let bindings: PostgresBindings

  init(_ activities: [ActivityRow]) {
    let onDeals = activities.filter { $0.dealID != nil }
    bindings = PostgresBindings {
      $0.append(activities.map(\.authorID))
      $0.append(activities.map(\.occurredAt))
      $0.append(activities.map(\.kind))
      $0.append(onDeals.map { $0.dealID ?? "" })
      $0.append(onDeals.map(\.occurredAt))
    }
  }
}

/// End-of-day reports, the last one per manager and day.
struct WriteHygieneReports: ProjectionWrite {
  static let sql = """
    INSERT INTO hygiene_reports (manager_id, day, unprocessed_deals, deals_without_open_task, deals_with_overdue_task)
    SELECT manager_id, day::date, unprocessed, without_open_task, with_overdue_task
    FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[])
      AS h (manager_id, day, unprocessed, without_open_task, with_overdue_task)
    ON CONFLICT (manager_id, day) DO UPDATE SET unprocessed_deals = excluded.unprocessed_deals,
      deals_without_open_task = excluded.deals_without_open_task,
      deals_with_overdue_task = excluded.deals_with_overdue_task
    """
  let bindings: PostgresBindings

  init(_ reports: [HygieneRow]) {
    bindings = PostgresBindings {
      $0.append(reports.map(\.managerID))
      $0.append(reports.map(\.day))
      $0.append(reports.map(\.unprocessed))
      $0.append(reports.map(\.withoutOpenTask))
      $0.append(reports.map(\.withOverdueTask))
    }
  }
}

/// QC reviews, the first one per review id (a review does not change).
struct WriteReviews: ProjectionWrite {
  static let sql = """
    INSERT INTO qc_reviews (review_id, item_id, pass, rep_code, weighted_score, reviewed_at, occurred_at)
    SELECT review_id, item_id, pass, rep_code, weighted_score, reviewed_at, CASE WHEN has_occurred THEN occurred_at END
    FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::float8[], $6::timestamptz[], $7::timestamptz[],
      $8::bool[]) AS r (review_id, item_id, pass, rep_code, weighted_score, reviewed_at, occurred_at, has_occurred)
    ON CONFLICT (review_id) DO NOTHING
    """
  let bindings: PostgresBindings

  init(_ reviews: [QCReviewRow]) {
    bindings = PostgresBindings {
      $0.append(reviews.map(\.reviewID))
      $0.append(reviews.map(\.itemID))
      $0.append(reviews.map(\.pass))
      $0.append(reviews.map(\.repCode))
      $0.append(reviews.map(\.weightedScore))
      $0.append(reviews.map(\.reviewedAt))
      $0.appendNullable(reviews.map(\.occurredAt), placeholder: Date(timeIntervalSince1970: 0))
    }
  }
}

/// Cards as their last event left them, and cards only archived (the stored row, if any).
struct WriteCards: ProjectionWrite {
  static let sql = """
    WITH archived AS (
      UPDATE card_completeness SET archived = true WHERE contact_id = ANY($6::text[])
    )
    INSERT INTO card_completeness (contact_id, owner_id, optional_filled, optional_total, archived)
    SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::bool[])
    ON CONFLICT (contact_id) DO UPDATE SET owner_id = excluded.owner_id,
      optional_filled = excluded.optional_filled, optional_total = excluded.optional_total,
      archived = excluded.archived
    """
  let bindings: PostgresBindings

  init(_ rows: [CardRow], archivedIDs: [String]) {
    bindings = PostgresBindings {
      $0.append(rows.map(\.contactID))
      $0.append(rows.map(\.ownerID))
      $0.append(rows.map(\.optionalFilled))
      $0.append(rows.map(\.optionalTotal))
      $0.append(rows.map(\.archived))
      $0.append(archivedIDs)
    }
  }
}
