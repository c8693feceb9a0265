import CRMContracts
import CRMDatabase
import CRMRuntime
import Foundation
import PostgresNIO

/// Opening deals and every change of an open one: move, objection, estimate, amount, win, loss.
extension PostgresDealsRepository {
  func openDeal(_ deal: DealInput.NewDeal, actor: String) async throws -> Crm_Deals_V1_Deal {
    try await client.withTransaction(logger: logger) { connection in
      guard let opened = try await insertDeal(deal, actor: actor, on: connection) else {
        throw RuleBroken(description: "lead \(deal.leadID?.text ?? "") already opened a deal")
      }
      return opened
    }
  }

  /// Inserts the deal at its pipeline's first stage and publishes `DealOpened`; nil when its lead
  /// already opened one.
  func insertDeal(_ deal: DealInput.NewDeal, actor: String, on connection: PostgresConnection) async throws
    -> Crm_Deals_V1_Deal?
  {
    let contact = try await connection.query(
      "SELECT archived FROM known_contacts WHERE id = \(deal.contactID)", logger: logger
    ).decode(Bool.self).first { _ in true }
    guard let archived = contact else { throw NotFound(entity: "contact", id: deal.contactID.text) }
    guard !archived else {
      throw RuleBroken(description: "contact \(deal.contactID.text) is archived; archived contacts get no new deals")
    }
    if let company = deal.companyID {
      let known = try await connection.query("SELECT 1 FROM known_companies WHERE id = \(company)", logger: logger)
        .collect()
      guard !known.isEmpty else { throw NotFound(entity: "company", id: company.text) }
    }
    let stages = try await stages(of: deal.pipelineID, on: connection)
    guard let first = StageRules.firstStage(of: stages) else {
      throw NotFound(entity: "pipeline", id: deal.pipelineID.text)
    }
    let id = UUID()
    let rows = try await connection.query(
      """
      INSERT INTO deals (id, contact_id, company_id, pipeline_id, stage_id, owner_id, kind, source, amount_minor,
                         currency, expected_close, status, lead_id)
      VALUES (\(id), \(deal.contactID), \(deal.companyID), \(deal.pipelineID), \(first.id), \(deal.ownerID),
              \(deal.kind.text), \(deal.source), \(deal.amount.minorUnits), \(deal.amount.currency),
              \(deal.expectedClose)::date, 'open', \(deal.leadID))
      ON CONFLICT (lead_id) DO NOTHING
      RETURNING id
      """,
      logger: logger
    ).collect()
    guard !rows.isEmpty else { return nil }
    let opened = try await decodeDeals(
      try await connection.query(
        "SELECT \(unescaped: Self.dealColumns) FROM deals d WHERE d.id = \(id)",
        logger: logger))[0].deal
    try await publish(
      Crm_Deals_V1_DealOpened.with { $0.deal = opened }, aggregateID: opened.id, version: opened.version, actor: actor,
      on: connection)
    return opened
  }

  func moveDeal(id: String, to target: UUID, expectedVersion: Int64, actor: String) async throws -> Crm_Deals_V1_Deal {
    try await changeOpenDeal(id, expectedVersion: expectedVersion) { deal, dealID, connection in
      let current = try uuid(deal.stageID, "stage")
      let stages = try await stages(of: try uuid(deal.pipelineID, "pipeline"), on: connection)
      let skipped = try StageRules.skippedStages(from: current, to: target, in: stages)
      let movedAt =
        try await connection.query(
          """
          WITH moved AS (
            UPDATE deals SET stage_id = \(target), owner_probability = NULL, version = version + 1
            WHERE id = \(dealID) RETURNING id
          )
          INSERT INTO deal_transitions (deal_id, from_stage_id, to_stage_id, skipped_stage_ids, actor)
          SELECT id, \(current), \(target), \(skipped.map(\.id)), \(actor) FROM moved
          RETURNING moved_at
          """,
          logger: logger
        ).decode(Date.self).first { _ in true } ?? Date()
      // A new stage: its default applies until the owner estimates again.
      deal.stageID = target.text
      deal.probability = stages.first { $0.id == target }?.defaultProbability ?? 0
      deal.ownerProbability = 0
      deal.ownerEstimated = false
      deal.version += 1
      let transition = Crm_Deals_V1_StageTransition.with {
        $0.fromStageID = current.text
        $0.toStageID = target.text
        $0.skippedStageIds = skipped.map(\.id.text)
        $0.actor = actor
        $0.movedAt = movedAt.timestamp
      }
      let moved = deal
      try await publish(
        Crm_Deals_V1_DealMoved.with {
          $0.deal = moved
          $0.transition = transition
        }, aggregateID: deal.id, version: deal.version, actor: actor, on: connection)
    }
  }

  func raiseObjection(
    id: String, reason: String, kind: Crm_Deals_V1_ObjectionKind, conditions: String, expectedVersion: Int64,
    actor: String
  ) async throws -> Crm_Deals_V1_Deal {
    try await changeOpenDeal(id, expectedVersion: expectedVersion) { deal, dealID, connection in
      let objectionID = UUID()
      let stageID = try uuid(deal.stageID, "stage")
      let raisedAt =
        try await connection.query(
          """
          WITH changed AS (UPDATE deals SET version = version + 1 WHERE id = \(dealID) RETURNING id)
          INSERT INTO deal_objections (id, deal_id, stage_id, reason, kind, conditions, actor)
          SELECT \(objectionID), id, \(stageID), \(reason), \(kind.text), \(conditions), \(actor) FROM changed
          RETURNING raised_at
          """,
          logger: logger
        ).decode(Date.self).first { _ in true } ?? Date()
      deal.version += 1
      let objection = Crm_Deals_V1_Objection.with {
        $0.id = objectionID.text
        $0.stageID = deal.stageID
        $0.reason = reason
        $0.kind = kind
        $0.conditions = conditions
        $0.actor = actor
        $0.raisedAt = raisedAt.timestamp
      }
      let raised = deal
      try await publish(
        Crm_Deals_V1_ObjectionRaised.with {
          $0.deal = raised
          $0.objection = objection
        }, aggregateID: deal.id, version: deal.version, actor: actor, on: connection)
    }
  }

  func estimateProbability(id: String, probability: Int32, expectedVersion: Int64, actor: String) async throws
    -> Crm_Deals_V1_Deal
  {
    try await changeOpenDeal(id, expectedVersion: expectedVersion) { deal, dealID, connection in
      // The stage default stays beside the estimate: reporting compares them per manager.
      let stageDefault = deal.ownerEstimated ? try await defaultProbability(of: deal, on: connection) : deal.probability
      _ = try await connection.query(
        "UPDATE deals SET owner_probability = \(probability), version = version + 1 WHERE id = \(dealID)",
        logger: logger
      ).collect()
      deal.probability = probability
      deal.ownerProbability = probability
      deal.ownerEstimated = true
      deal.version += 1
      let estimated = deal
      try await publish(
        Crm_Deals_V1_ProbabilityEstimated.with {
          $0.deal = estimated
          $0.stageDefault = stageDefault
          $0.ownerEstimate = probability
        }, aggregateID: deal.id, version: deal.version, actor: actor, on: connection)
    }
  }

  private func defaultProbability(of deal: Crm_Deals_V1_Deal, on connection: PostgresConnection) async throws -> Int32 {
    try await connection.query(
      "SELECT default_probability FROM stages WHERE id = \(try uuid(deal.stageID, "stage"))", logger: logger
    ).decode(Int32.self).first { _ in true } ?? 0
  }

  func changeAmount(id: String, amount: Crm_Common_V1_Money, expectedVersion: Int64, actor: String) async throws
    -> Crm_Deals_V1_Deal
  {
    try await changeOpenDeal(id, expectedVersion: expectedVersion) { deal, dealID, connection in
      _ = try await connection.query(
        """
        UPDATE deals SET amount_minor = \(amount.minorUnits), currency = \(amount.currency), version = version + 1
        WHERE id = \(dealID)
        """,
        logger: logger
      ).collect()
      let previous = deal.amount
      deal.amount = amount
      deal.version += 1
      let changed = deal
      try await publish(
        Crm_Deals_V1_DealAmountChanged.with {
          $0.deal = changed
          $0.previous = previous
        }, aggregateID: deal.id, version: deal.version, actor: actor, on: connection)
    }
  }

  func winDeal(id: String, expectedVersion: Int64, actor: String) async throws -> Crm_Deals_V1_Deal {
    try await changeOpenDeal(id, expectedVersion: expectedVersion) { deal, dealID, connection in
      let closedAt = try await close(dealID, as: .won, on: connection)
      deal.status = .won
      deal.closedAt = closedAt.timestamp
      deal.version += 1
      let won = deal
      try await publish(
        Crm_Deals_V1_DealWon.with { $0.deal = won }, aggregateID: deal.id, version: deal.version, actor: actor,
        on: connection)
    }
  }

  func loseDeal(id: String, reason: String, expectedVersion: Int64, actor: String) async throws -> Crm_Deals_V1_Deal {
    try await changeOpenDeal(id, expectedVersion: expectedVersion) { deal, dealID, connection in
      let listed =
        try await connection.query(
          "SELECT loss_reasons FROM pipelines WHERE id = \(try uuid(deal.pipelineID, "pipeline"))", logger: logger
        ).decode([String].self).first { _ in true } ?? []
      let lossReason = try DealInput.lossReason(reason, listed: listed)
      let stageID = try uuid(deal.stageID, "stage")
      let closedAt = try await close(dealID, as: .lost, stage: stageID, reason: lossReason, on: connection)
      let lastObjection = try await objections(of: dealID, last: true, on: connection).first
      deal.status = .lost
      deal.lossStageID = deal.stageID
      deal.lossReason = lossReason
      deal.closedAt = closedAt.timestamp
      deal.version += 1
      let lost = deal
      try await publish(
        Crm_Deals_V1_DealLost.with {
          $0.deal = lost
          if let lastObjection { $0.lastObjection = lastObjection }
        }, aggregateID: deal.id, version: deal.version, actor: actor, on: connection)
    }
  }

  /// Closes the deal (won, or lost at `stage` for `reason`); returns when.
  private func close(
    _ id: UUID, as status: Crm_Deals_V1_DealStatus, stage: UUID? = nil, reason: String = "",
    on connection: PostgresConnection
  ) async throws -> Date {
    try await connection.query(
      """
      UPDATE deals SET status = \(status.text), loss_stage_id = \(stage), loss_reason = \(reason), closed_at = now(),
        version = version + 1
      WHERE id = \(id) RETURNING closed_at
      """,
      logger: logger
    ).decode(Date.self).first { _ in true } ?? Date()
  }
}
