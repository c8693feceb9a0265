import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO

/// Deal rows: one column list, one decoder, and the read-check-write cycle of every change.
extension PostgresDealsRepository {
  /// What `decodeDeal` reads from `deals d`, in its order (the stage's default by subquery).
  static let dealColumns = """
    d.id, d.contact_id, d.company_id, d.pipeline_id, d.stage_id, d.owner_id, d.kind, d.source, d.amount_minor,
    d.currency, d.expected_close::text, d.status, (SELECT default_probability FROM stages WHERE id = d.stage_id),
    d.owner_probability, d.loss_stage_id, d.loss_reason, d.lead_id, d.opened_at, d.closed_at, d.version, d.seq
    """

  func decodeDeals(_ rows: PostgresRowSequence) async throws -> [(deal: Crm_Deals_V1_Deal, seq: Int64)] {
    var deals: [(Crm_Deals_V1_Deal, Int64)] = []
    for try await row in rows { deals.append(try Self.decodeDeal(row)) }
    return deals
  }

  /// The deal in the first columns of `row` (`dealColumns`), and its position in listings.
  static func decodeDeal(_ row: PostgresRow) throws -> (deal: Crm_Deals_V1_Deal, seq: Int64) {
    let (
      id, contactID, companyID, pipelineID, stageID, ownerID, kind, source, amount, currency, expectedClose, status,
      stageProbability, ownerProbability, lossStageID, lossReason, leadID, openedAt, closedAt, version, seq
    ) = try row.decode(
      (
        UUID, UUID, UUID?, UUID, UUID, String, String, String, Int64, String, String?, String, Int32, Int32?, UUID?,
        String, UUID?, Date, Date?, Int64, Int64
      ).self)
    var deal = Crm_Deals_V1_Deal()
    deal.id = id.text
    deal.contactID = contactID.text
    deal.companyID = companyID?.text ?? ""
    deal.pipelineID = pipelineID.text
    deal.stageID = stageID.text
    deal.ownerID = ownerID
    deal.kind = Crm_Deals_V1_DealKind(text: kind)
    deal.source = source
    if !currency.isEmpty {
      deal.amount = .with {
        $0.minorUnits = amount
        $0.currency = currency
      }
    }
    if let expectedClose {
      let parts = expectedClose.split(separator: "-").compactMap { Int32($0) }
      if parts.count == 3 {
        deal.expectedClose = .with {
          $0.year = parts[0]
          $0.month = parts[1]
          $0.day = parts[2]
        }
      }
    }
    deal.status = Crm_Deals_V1_DealStatus(text: status)
    deal.probability = ownerProbability ?? stageProbability
    deal.ownerProbability = ownerProbability ?? 0
    deal.ownerEstimated = ownerProbability != nil
    deal.lossStageID = lossStageID?.text ?? ""
    deal.lossReason = lossReason
    deal.leadID = leadID?.text ?? ""
    deal.openedAt = openedAt.timestamp
    if let closedAt { deal.closedAt = closedAt.timestamp }
    deal.version = version
    return (deal, seq)
  }

  /// The open deal at `expectedVersion` and its pipeline's stages, read without a lock: the
  /// change is then written by one statement that holds only while the version is still the
  /// same (`commitChange`), so a concurrent change makes it ABORTED, never lost. Only if
  /// `principal` may change it (a deal's owner never changes, and the check cannot go stale).
  /// `at`: when the change happens — the requested time of a history import (checked not to
  /// be before the deal's last change; the version condition keeps that check fresh), else now.
  func openDealForChange(_ id: String, expectedVersion: Int64, by principal: Principal, at requested: Date?)
    async throws -> (deal: Crm_Deals_V1_Deal, stages: [PipelineStage], at: Date)
  {
    let dealID = try UUID(id, of: "deal")
    guard
      let (deal, changedAt, pipelineVersion) = try await client.execute(DealForChange(dealID: dealID), logger: logger)
        .first(where: { _ in true })
    else { throw NotFound(entity: "deal", id: id) }
    try principal.checkMayChange("deal \(id)", ownedBy: deal.ownerID)
    try Self.requireOpen(deal, expectedVersion: expectedVersion)
    let at = try HistoryTime.inOrder(requested, after: changedAt, of: "deal \(id)") ?? Date()
    let pipelineID = try UUID(deal.pipelineID, of: "pipeline")
    if let stages = stageCache.stages(of: pipelineID, atVersion: pipelineVersion) { return (deal, stages, at) }
    let (version, stages) = try await client.withConnection { try await self.stages(of: pipelineID, on: $0) }
    stageCache.store(stages, of: pipelineID, atVersion: version)
    return (deal, stages, at)
  }

  /// A change applies to the version the caller read, and only while the deal is open.
  static func requireOpen(_ deal: Crm_Deals_V1_Deal, expectedVersion: Int64) throws {
    guard deal.version == expectedVersion else {
      throw VersionConflict(entity: "deal", id: deal.id, expected: expectedVersion, current: deal.version)
    }
    guard deal.status == .open else {
      throw RuleBroken(description: "deal \(deal.id) is \(deal.status.text); closed deals do not change")
    }
  }

  /// Runs a change written as one statement whose `changed` CTE updates the deal `WHERE id = …
  /// AND version = <expected> AND status = 'open'` and which returns `count(*)` of it. No row:
  /// someone changed the deal since it was read, and the caller learns how.
  func commitChange(_ statement: PostgresQuery, dealID: String, expectedVersion: Int64) async throws {
    let changed = try await client.query(statement, logger: logger).decode(Int.self).first { _ in true } ?? 0
    try await checkCommitted(changed, dealID: dealID, expectedVersion: expectedVersion)
  }

  /// After a conditional change wrote `changed` rows: none means the deal changed since it was
  /// read; the error says how (ABORTED with the current version, or closed, or gone).
  func checkCommitted(_ changed: Int, dealID: String, expectedVersion: Int64) async throws {
    guard changed == 0 else { return }
    let rows = try await client.query(
      "SELECT \(unescaped: Self.dealColumns) FROM deals d WHERE d.id = \(try UUID(dealID, of: "deal"))", logger: logger)
    guard let current = try await decodeDeals(rows).first?.deal else { throw NotFound(entity: "deal", id: dealID) }
    try Self.requireOpen(current, expectedVersion: expectedVersion)
    throw VersionConflict(entity: "deal", id: dealID, expected: expectedVersion, current: current.version)
  }
}
