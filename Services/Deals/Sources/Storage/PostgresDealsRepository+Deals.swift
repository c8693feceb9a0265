import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO
import SwiftProtobuf

/// Opening deals and every change of an open one: move, objection, estimate, amount, win, loss.
extension PostgresDealsRepository {
  func openDeal(_ deal: DealInput.NewDeal, actor: String) async throws -> Crm_Deals_V1_Deal {
    try await idempotent(client: client, logger: logger) { key in
      try await client.withTransaction(logger: logger) { connection in
        guard let opened = try await insertDeal(deal, actor: actor, on: connection) else {
          throw RuleBroken(description: "lead \(deal.leadID?.text ?? "") already opened a deal")
        }
        try await RequestReplies.record(opened, key: key, on: connection, logger: logger)
        return opened
      }
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
    let openedAt = deal.openedAt ?? Date()
    guard let first = StageRules.firstStage(of: try await stages(of: deal.pipelineID, on: connection).stages) else {
      throw NotFound(entity: "pipeline", id: deal.pipelineID.text)
    }
    let rows = try await connection.query(
      """
      INSERT INTO deals AS d (id, contact_id, company_id, pipeline_id, stage_id, owner_id, kind, source, amount_minor,
                         currency, expected_close, status, lead_id, opened_at, changed_at)
      VALUES (\(UUID()), \(deal.contactID), \(deal.companyID), \(deal.pipelineID), \(first.id), \(deal.ownerID),
              \(deal.kind.text), \(deal.source), \(deal.amount.minorUnits), \(deal.amount.currency),
              \(deal.expectedClose)::date, 'open', \(deal.leadID), \(openedAt), \(openedAt))
      ON CONFLICT (lead_id) DO NOTHING
      RETURNING \(unescaped: Self.dealColumns)
      """,
      logger: logger)
    guard let opened = try await decodeDeals(rows).first?.deal else { return nil }
    try await publish(
      Crm_Deals_V1_DealOpened.with { $0.deal = opened }, aggregateID: opened.id, version: opened.version, actor: actor,
      occurredAt: openedAt, on: connection)
    return opened
  }

  func moveDeal(id: String, to target: UUID, expectedVersion: Int64, at requested: Date?, actor principal: Principal)
    async throws -> Crm_Deals_V1_Deal
  {
    let actor = principal.description
    var (deal, stages, movedAt) = try await openDealForChange(
      id, expectedVersion: expectedVersion, by: principal, at: requested)
    let current = try UUID(deal.stageID, of: "stage")
    let skipped = try StageRules.skippedStages(from: current, to: target, in: stages)
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
    let event = try event(
      Crm_Deals_V1_DealMoved.with {
        $0.deal = deal
        $0.transition = transition
      }, of: deal, actor: actor, at: movedAt)
    let changed =
      try await client.execute(
        MoveDeal(
          dealID: try UUID(id, of: "deal"), expectedVersion: expectedVersion, from: current, to: target,
          skipped: skipped.map(\.id), actor: actor, movedAt: movedAt, event: event),
        logger: logger
      ).first { _ in true } ?? 0
    try await checkCommitted(changed, dealID: id, expectedVersion: expectedVersion)
    return deal
  }

  func raiseObjection(
    id: String, reason: String, kind: Crm_Deals_V1_ObjectionKind, conditions: String, expectedVersion: Int64,
    at requested: Date?, actor principal: Principal
  ) async throws -> Crm_Deals_V1_Deal {
    let actor = principal.description
    var (deal, _, raisedAt) = try await openDealForChange(
      id, expectedVersion: expectedVersion, by: principal, at: requested)
    let objection = Crm_Deals_V1_Objection.with {
      $0.id = UUID().uuidString.lowercased()
      $0.stageID = deal.stageID
      $0.reason = reason
      $0.kind = kind
      $0.conditions = conditions
      $0.actor = actor
      $0.raisedAt = raisedAt.timestamp
    }
    deal.version += 1
    let event = try event(
      Crm_Deals_V1_ObjectionRaised.with {
        $0.deal = deal
        $0.objection = objection
      }, of: deal, actor: actor, at: raisedAt)
    try await commitChange(
      """
      WITH changed AS (
        UPDATE deals SET changed_at = \(raisedAt), version = version + 1
        WHERE id = \(try UUID(id, of: "deal")) AND version = \(expectedVersion) AND status = 'open' RETURNING id
      ), objection AS (
        INSERT INTO deal_objections (id, deal_id, stage_id, reason, kind, conditions, actor, raised_at)
        SELECT \(try UUID(objection.id, of: "objection")), id, \(try UUID(deal.stageID, of: "stage")), \(reason), \(kind.text),
               \(conditions), \(actor), \(objection.raisedAt.date) FROM changed
      ), appended AS (\(outboxInsertOf: [event], whenRowsIn: "changed"))
      SELECT count(*)::int FROM changed
      """, dealID: id, expectedVersion: expectedVersion)
    return deal
  }

  func estimateProbability(
    id: String, probability: Int32, expectedVersion: Int64, at requested: Date?, actor principal: Principal
  ) async throws -> Crm_Deals_V1_Deal {
    let actor = principal.description
    var (deal, stages, estimatedAt) = try await openDealForChange(
      id, expectedVersion: expectedVersion, by: principal, at: requested)
    // The stage default stays beside the estimate: reporting compares them per manager.
    let stageDefault = stages.first { $0.id.text == deal.stageID }?.defaultProbability ?? 0
    deal.probability = probability
    deal.ownerProbability = probability
    deal.ownerEstimated = true
    deal.version += 1
    let event = try event(
      Crm_Deals_V1_ProbabilityEstimated.with {
        $0.deal = deal
        $0.stageDefault = stageDefault
        $0.ownerEstimate = probability
      }, of: deal, actor: actor, at: estimatedAt)
    try await commitChange(
      """
      WITH changed AS (
        UPDATE deals SET owner_probability = \(probability), changed_at = \(estimatedAt), version = version + 1
        WHERE id = \(try UUID(id, of: "deal")) AND version = \(expectedVersion) AND status = 'open' RETURNING id
      ), appended AS (\(outboxInsertOf: [event], whenRowsIn: "changed"))
      SELECT count(*)::int FROM changed
      """, dealID: id, expectedVersion: expectedVersion)
    return deal
  }

  func changeAmount(
    id: String, amount: Crm_Common_V1_Money, expectedVersion: Int64, at requested: Date?, actor principal: Principal
  ) async throws -> Crm_Deals_V1_Deal {
    let actor = principal.description
    var (deal, _, changedAt) = try await openDealForChange(
      id, expectedVersion: expectedVersion, by: principal, at: requested)
    let previous = deal.amount
    deal.amount = amount
    deal.version += 1
    let event = try event(
      Crm_Deals_V1_DealAmountChanged.with {
        $0.deal = deal
        $0.previous = previous
      }, of: deal, actor: actor, at: changedAt)
    try await commitChange(
      """
      WITH changed AS (
        UPDATE deals SET amount_minor = \(amount.minorUnits), currency = \(amount.currency), changed_at = \(changedAt),
          version = version + 1
        WHERE id = \(try UUID(id, of: "deal")) AND version = \(expectedVersion) AND status = 'open' RETURNING id
      ), appended AS (\(outboxInsertOf: [event], whenRowsIn: "changed"))
      SELECT count(*)::int FROM changed
      """, dealID: id, expectedVersion: expectedVersion)
    return deal
  }

  func winDeal(id: String, expectedVersion: Int64, at requested: Date?, actor principal: Principal) async throws
    -> Crm_Deals_V1_Deal
  {
    let actor = principal.description
    var (deal, _, closedAt) = try await openDealForChange(
      id, expectedVersion: expectedVersion, by: principal, at: requested)
    deal.status = .won
    deal.closedAt = closedAt.timestamp
    deal.version += 1
    let event = try event(Crm_Deals_V1_DealWon.with { $0.deal = deal }, of: deal, actor: actor, at: closedAt)
    try await commitChange(
      """
      WITH changed AS (
        UPDATE deals SET status = 'won', closed_at = \(closedAt), changed_at = \(closedAt), version = version + 1
        WHERE id = \(try UUID(id, of: "deal")) AND version = \(expectedVersion) AND status = 'open' RETURNING id
      ), appended AS (\(outboxInsertOf: [event], whenRowsIn: "changed"))
      SELECT count(*)::int FROM changed
      """, dealID: id, expectedVersion: expectedVersion)
    return deal
  }

  func loseDeal(id: String, reason: String, expectedVersion: Int64, at requested: Date?, actor principal: Principal)
    async throws -> Crm_Deals_V1_Deal
  {
    let actor = principal.description
    var (deal, _, closedAt) = try await openDealForChange(
      id, expectedVersion: expectedVersion, by: principal, at: requested)
    let listed =
      try await client.query(
        "SELECT loss_reasons FROM pipelines WHERE id = \(try UUID(deal.pipelineID, of: "pipeline"))", logger: logger
      ).decode([String].self).first { _ in true } ?? []
    let lossReason = try DealInput.lossReason(reason, listed: listed)
    let lastObjection = try await client.withConnection {
      try await objections(of: try UUID(id, of: "deal"), last: true, on: $0).first
    }
    deal.status = .lost
    deal.lossStageID = deal.stageID
    deal.lossReason = lossReason
    deal.closedAt = closedAt.timestamp
    deal.version += 1
    let event = try event(
      Crm_Deals_V1_DealLost.with {
        $0.deal = deal
        if let lastObjection { $0.lastObjection = lastObjection }
      }, of: deal, actor: actor, at: closedAt)
    try await commitChange(
      """
      WITH changed AS (
        UPDATE deals SET status = 'lost', loss_stage_id = stage_id, loss_reason = \(lossReason),
          closed_at = \(closedAt), changed_at = \(closedAt), version = version + 1
        WHERE id = \(try UUID(id, of: "deal")) AND version = \(expectedVersion) AND status = 'open' RETURNING id
      ), appended AS (\(outboxInsertOf: [event], whenRowsIn: "changed"))
      SELECT count(*)::int FROM changed
      """, dealID: id, expectedVersion: expectedVersion)
    return deal
  }

  /// The outbox record of a change of `deal` (at its new version) that happened `at`.
  private func event(_ payload: some Message, of deal: Crm_Deals_V1_Deal, actor: String, at: Date) throws
    -> OutboxEvent
  {
    try DealsEvents.event(aggregateID: deal.id, version: deal.version, actor: actor, occurredAt: at, payload)
  }
}
