import Foundation
import Logging
import PostgresNIO

/// Writes a folded batch (`ProjectionBatch`): one prepared statement per projection that the
/// batch touches (two for stage visits: the stored ones are read first). Pipelines, rare, are
/// written one by one.
struct ProjectionWriter: Sendable {
  let logger: Logger

  func write(_ batch: ProjectionBatch, on connection: PostgresConnection) async throws {
    for pipeline in batch.pipelines.ordered { try await write(pipeline, on: connection) }
    // The funnel's, forecast's and leaderboard's sums follow the deals (`DealAggregates`).
    try await DealAggregates.keeping(deals: batch.deals.keys, on: connection, logger: logger) {
      if !batch.deals.isEmpty {
        try await execute(WriteDeals(batch.deals.ordered, versions: batch.dealVersions.ordered), on: connection)
      }
      if !batch.dealSteps.isEmpty { try await writeVisits(of: batch.dealSteps, on: connection) }
    }
    // The lead funnel's sums follow the leads (`LeadAggregates`).
    if !batch.leads.isEmpty {
      try await LeadAggregates.keeping(leads: batch.leads.keys, on: connection, logger: logger) {
        try await execute(WriteLeads(batch.leads.ordered), on: connection)
      }
    }
    if !batch.activities.isEmpty { try await execute(WriteActivities(batch.activities), on: connection) }
    if !batch.hygiene.isEmpty { try await execute(WriteHygieneReports(batch.hygiene.ordered), on: connection) }
    if !batch.reviews.isEmpty { try await execute(WriteReviews(batch.reviews.ordered), on: connection) }
    if !batch.cards.isEmpty {
      let archivedOnly = batch.cards.keys.filter { batch.cards[$0]?.row == nil }
      try await execute(WriteCards(batch.cards.ordered.compactMap(\.row), archivedIDs: archivedOnly), on: connection)
    }
  }

  private func execute(_ statement: some ProjectionWrite, on connection: PostgresConnection) async throws {
    try await connection.write(statement, logger: logger)
  }

  /// Reads the stored visits of the deals the steps touch, works out the steps against them,
  /// and writes what changed.
  private func writeVisits(of steps: [(deal: DealRow, step: DealStep)], on connection: PostgresConnection)
    async throws
  {
    let dealIDs = Array(Set(steps.map(\.deal.id)))
    var stored: [StageVisitPlan.Key: String] = [:]
    for try await (dealID, stageID, outcome) in try await connection.execute(
      ReadStageVisits(dealIDs: dealIDs), logger: logger)
    {
      stored[StageVisitPlan.Key(dealID: dealID, stageID: stageID)] = outcome
    }
    var plan = StageVisitPlan(stored: stored)
    for (deal, step) in steps { plan.apply(deal, step) }
    guard !plan.writes.isEmpty else { return }
    try await execute(WriteStageVisits(plan.writes.ordered), on: connection)
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
}

extension PostgresConnection {
  /// Runs a write and reads its (empty) result through. Not postgres-nio's `execute` for
  /// `Row == ()`: it asks a fresh row stream for its command tag before the stream was read, which
  /// stops the process (`commandTag may only be called if all rows have been consumed`).
  func write(_ statement: some ProjectionWrite, logger: Logger) async throws {
    for try await _ in try await rows(of: statement, logger: logger) {}
  }

  /// The general `execute`, from a generic context that does not know `Row == ()`.
  private func rows<Statement: PostgresPreparedStatement>(of statement: Statement, logger: Logger) async throws
    -> AsyncThrowingMapSequence<PostgresRowSequence, Statement.Row>
  {
    try await execute(statement, logger: logger)
  }
}
