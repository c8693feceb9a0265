import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import Logging
import PostgresNIO

/// Applies stored events to the read models, one at a time in the order given, in the caller's
/// transaction: the live inbox and the rebuild both call it, so both give the same rows. An
/// event at or below the stored version of its aggregate changes nothing (a late duplicate).
struct Projector: Sendable {
  let logger: Logger

  /// What became of an event.
  enum Outcome: Equatable, Sendable {
    case projected
    /// Its aggregate had this version or a newer one already.
    case stale
    /// A type reporting does not project (stored only).
    case unknown
  }

  func project(_ event: StoredEvent, on connection: PostgresConnection) async throws -> Outcome {
    let change: ProjectedChange?
    do {
      change = try event.change()
    } catch let error as InvalidField {
      throw EventRejected("\(event.type.prefix(120)): \(error)")
    }
    guard let change else { return .unknown }
    guard try await advanceVersion(of: event, on: connection) else { return .stale }
    switch change {
    case .pipeline(let pipeline): try await write(pipeline, on: connection)
    case .deal(let deal, let step):
      // The funnel's and the forecast's sums follow the deal (`DealAggregates`).
      try await DealAggregates.keeping(deal, step, on: connection, logger: logger) {
        try await write(deal, step, on: connection)
      }
    case .lead(let lead): try await write(lead, on: connection)
    case .activity(let activity): try await write(activity, on: connection)
    case .hygiene(let report): try await write(report, on: connection)
    case .qcReview(let review): try await write(review, on: connection)
    case .card(let card): try await write(card, on: connection)
    case .cardArchived(let contactID):
      try await run("UPDATE card_completeness SET archived = true WHERE contact_id = \(contactID)", on: connection)
    }
    return .projected
  }

  /// Records the event's version as its aggregate's; false when that had this one or newer.
  private func advanceVersion(of event: StoredEvent, on connection: PostgresConnection) async throws -> Bool {
    let rows = try await connection.query(
      """
      INSERT INTO aggregate_versions (topic, aggregate_id, version)
      VALUES (\(event.topic), \(event.aggregateID), \(event.aggregateVersion))
      ON CONFLICT (topic, aggregate_id) DO UPDATE SET version = excluded.version
      WHERE aggregate_versions.version < excluded.version
      RETURNING 1
      """, logger: logger)
    return try await rows.decode(Int.self).first(where: { _ in true }) != nil
  }

  private func run(_ query: PostgresQuery, on connection: PostgresConnection) async throws {
    _ = try await connection.query(query, logger: logger).collect()
  }

  private func write(_ pipeline: PipelineRow, on connection: PostgresConnection) async throws {
    try await run(
      """
      INSERT INTO pipelines (id, business_line, name, loss_reasons, version)
      VALUES (\(pipeline.id), \(pipeline.businessLine), \(pipeline.name), \(pipeline.lossReasons), \(pipeline.version))
      ON CONFLICT (id) DO UPDATE SET business_line = excluded.business_line, name = excluded.name,
        loss_reasons = excluded.loss_reasons, version = excluded.version
      """, on: connection)
    // A revision lists every stage (retired ones too): the stored list becomes it.
    try await run("DELETE FROM pipeline_stages WHERE pipeline_id = \(pipeline.id)", on: connection)
    let stages = pipeline.stages
    try await run(
      """
      INSERT INTO pipeline_stages (pipeline_id, stage_id, name, result, position, default_probability, retired)
      SELECT \(pipeline.id), * FROM unnest(
        \(stages.map(\.id))::text[], \(stages.map(\.name))::text[], \(stages.map(\.result))::text[],
        \(stages.map(\.position))::int[], \(stages.map(\.defaultProbability))::int[], \(stages.map(\.retired))::bool[])
      """, on: connection)
  }

  private func write(_ deal: DealRow, _ step: DealStep, on connection: PostgresConnection) async throws {
    let movedAt: Date? =
      switch step {
      case .opened(let at), .moved(_, _, _, let at): at
      default: nil
      }
    // One statement for the deal and its version row; the open probability is the one a
    // closing event still carries (won and lost keep it).
    try await run(
      """
      WITH version AS (
        INSERT INTO deal_versions (deal_id, version, occurred_at, status, stage_id, owner_id, pipeline_id,
          amount_minor, currency, probability, owner_estimated, expected_close)
        VALUES (\(deal.id), \(deal.version), \(deal.occurredAt), \(deal.status), \(deal.stageID), \(deal.ownerID),
          \(deal.pipelineID), \(deal.amountMinor), \(deal.currency), \(deal.probability), \(deal.ownerEstimated),
          \(deal.expectedClose)::date)
        ON CONFLICT (deal_id, version) DO NOTHING
      )
      INSERT INTO deals (id, contact_id, pipeline_id, owner_id, kind, source, amount_minor, currency, status,
        stage_id, probability, owner_estimated, expected_close, opened_at, closed_at, loss_stage_id, loss_reason,
        loss_kind, lead_id, last_moved_at, last_open_probability, version)
      VALUES (\(deal.id), \(deal.contactID), \(deal.pipelineID), \(deal.ownerID), \(deal.kind), \(deal.source),
        \(deal.amountMinor), \(deal.currency), \(deal.status), \(deal.stageID), \(deal.probability),
        \(deal.ownerEstimated), \(deal.expectedClose)::date, \(deal.openedAt), \(deal.closedAt), \(deal.lossStageID),
        \(deal.lossReason), \(deal.lossKind), \(deal.leadID), coalesce(\(movedAt), \(deal.openedAt)),
        \(deal.probability), \(deal.version))
      ON CONFLICT (id) DO UPDATE SET contact_id = excluded.contact_id, pipeline_id = excluded.pipeline_id,
        owner_id = excluded.owner_id, kind = excluded.kind, source = excluded.source,
        amount_minor = excluded.amount_minor, currency = excluded.currency, status = excluded.status,
        stage_id = excluded.stage_id, probability = excluded.probability,
        owner_estimated = excluded.owner_estimated, expected_close = excluded.expected_close,
        opened_at = excluded.opened_at, closed_at = excluded.closed_at, loss_stage_id = excluded.loss_stage_id,
        loss_reason = excluded.loss_reason, loss_kind = excluded.loss_kind, lead_id = excluded.lead_id,
        last_moved_at = coalesce(\(movedAt), deals.last_moved_at),
        last_open_probability = CASE WHEN excluded.status = 'open' THEN excluded.probability
                                     ELSE deals.last_open_probability END,
        version = excluded.version
      """, on: connection)
    try await visit(deal, step, on: connection)
  }

  /// The stage visits a step opens and closes, in one statement (the rows it touches are
  /// distinct: the stage left, the ones passed over, the one entered). A visit's filters are
  /// the deal's at entry.
  private func visit(_ deal: DealRow, _ step: DealStep, on connection: PostgresConnection) async throws {
    switch step {
    case .none: return
    case .opened(let at):
      try await run(
        """
        INSERT INTO stage_visits (deal_id, stage_id, pipeline_id, owner_id, kind, source, entered_at, left_at, outcome)
        VALUES (\(deal.id), \(deal.stageID), \(deal.pipelineID), \(deal.ownerID), \(deal.kind), \(deal.source), \(at),
          NULL, 'open')
        ON CONFLICT (deal_id, stage_id) DO NOTHING
        """, on: connection)
    case .moved(let from, let to, let skipped, let at):
      // Skipped stages first, then the one entered (ordinality keeps the list's order).
      let stages = skipped + [to]
      let outcomes = skipped.map { _ in "skipped" } + ["open"]
      try await run(
        """
        WITH left_stage AS (
          UPDATE stage_visits SET left_at = \(at), outcome = 'advanced'
          WHERE deal_id = \(deal.id) AND stage_id = \(from) AND outcome = 'open'
        )
        INSERT INTO stage_visits (deal_id, stage_id, pipeline_id, owner_id, kind, source, entered_at, left_at, outcome)
        SELECT \(deal.id), stage, \(deal.pipelineID), \(deal.ownerID), \(deal.kind), \(deal.source), \(at),
          CASE WHEN outcome = 'skipped' THEN \(at)::timestamptz END, outcome
        FROM unnest(\(stages)::text[], \(outcomes)::text[]) WITH ORDINALITY AS v (stage, outcome, position)
        ORDER BY position
        ON CONFLICT (deal_id, stage_id) DO NOTHING
        """, on: connection)
    case .closed(let outcome, let at):
      try await run(
        """
        UPDATE stage_visits SET left_at = \(at), outcome = \(outcome)
        WHERE deal_id = \(deal.id) AND stage_id = \(deal.stageID) AND outcome = 'open'
        """, on: connection)
    }
  }

  private func write(_ lead: LeadRow, on connection: PostgresConnection) async throws {
    try await run(
      """
      INSERT INTO leads (id, source, owner_id, business_line, status, rejection_reason, created_at, closed_at, version)
      VALUES (\(lead.id), \(lead.source), \(lead.ownerID), \(lead.businessLine), \(lead.status),
        \(lead.rejectionReason), \(lead.createdAt), \(lead.closedAt), \(lead.version))
      ON CONFLICT (id) DO UPDATE SET source = excluded.source, owner_id = excluded.owner_id,
        business_line = excluded.business_line, status = excluded.status,
        rejection_reason = excluded.rejection_reason, created_at = excluded.created_at,
        closed_at = excluded.closed_at, version = excluded.version
      """, on: connection)
  }

  private func write(_ activity: ActivityRow, on connection: PostgresConnection) async throws {
    try await run(
      """
      INSERT INTO activity_counts (author_id, day, kind, activities)
      VALUES (\(activity.authorID), (\(activity.occurredAt)::timestamptz AT TIME ZONE 'UTC')::date, \(activity.kind), 1)
      ON CONFLICT (author_id, day, kind) DO UPDATE SET activities = activity_counts.activities + 1
      """, on: connection)
    guard let dealID = activity.dealID else { return }
    try await run(
      """
      INSERT INTO deal_activity (deal_id, last_activity_at) VALUES (\(dealID), \(activity.occurredAt))
      ON CONFLICT (deal_id) DO UPDATE SET last_activity_at = greatest(deal_activity.last_activity_at, excluded.last_activity_at)
      """, on: connection)
  }

  private func write(_ report: HygieneRow, on connection: PostgresConnection) async throws {
    try await run(
      """
      INSERT INTO hygiene_reports (manager_id, day, unprocessed_deals, deals_without_open_task, deals_with_overdue_task)
      VALUES (\(report.managerID), \(report.day)::date, \(report.unprocessed), \(report.withoutOpenTask),
        \(report.withOverdueTask))
      ON CONFLICT (manager_id, day) DO UPDATE SET unprocessed_deals = excluded.unprocessed_deals,
        deals_without_open_task = excluded.deals_without_open_task,
        deals_with_overdue_task = excluded.deals_with_overdue_task
      """, on: connection)
  }

  private func write(_ review: QCReviewRow, on connection: PostgresConnection) async throws {
    try await run(
      """
      INSERT INTO qc_reviews (review_id, item_id, pass, rep_code, weighted_score, reviewed_at, occurred_at)
      VALUES (\(review.reviewID), \(review.itemID), \(review.pass), \(review.repCode), \(review.weightedScore),
        \(review.reviewedAt), \(review.occurredAt))
      ON CONFLICT (review_id) DO NOTHING
      """, on: connection)
  }

  private func write(_ card: CardRow, on connection: PostgresConnection) async throws {
    try await run(
      """
      INSERT INTO card_completeness (contact_id, owner_id, optional_filled, optional_total, archived)
      VALUES (\(card.contactID), \(card.ownerID), \(card.optionalFilled), \(card.optionalTotal), \(card.archived))
      ON CONFLICT (contact_id) DO UPDATE SET owner_id = excluded.owner_id,
        optional_filled = excluded.optional_filled, optional_total = excluded.optional_total,
        archived = excluded.archived
      """, on: connection)
  }
}
