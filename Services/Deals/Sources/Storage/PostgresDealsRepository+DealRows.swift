import CRMContracts
import CRMDatabase
import CRMRuntime
import Foundation
import PostgresNIO

/// Reading deal rows: one column list, one decoder, one lock-and-check for every mutation.
extension PostgresDealsRepository {
  /// What `decodeDeals` reads from `deals d`, in its order. The stage's default is a subquery, not
  /// a join: a join would drop the row when `FOR UPDATE` rechecks it after a concurrent move.
  static let dealColumns = """
    d.id, d.contact_id, d.company_id, d.pipeline_id, d.stage_id, d.owner_id, d.kind, d.source, d.amount_minor,
    d.currency, d.expected_close::text, d.status, (SELECT default_probability FROM stages WHERE id = d.stage_id), d.owner_probability, d.loss_stage_id,
    d.loss_reason, d.lead_id, d.opened_at, d.closed_at, d.version, d.seq
    """

  func decodeDeals(_ rows: PostgresRowSequence) async throws -> [(deal: Crm_Deals_V1_Deal, seq: Int64)] {
    var deals: [(Crm_Deals_V1_Deal, Int64)] = []
    for try await row in rows {
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
      deals.append((deal, seq))
    }
    return deals
  }

  /// The deal, locked for a change at `expectedVersion`, still open.
  func lockOpenDeal(_ id: String, expectedVersion: Int64, on connection: PostgresConnection) async throws
    -> Crm_Deals_V1_Deal
  {
    let dealID = try uuid(id, "deal")
    let rows = try await connection.query(
      """
      SELECT \(unescaped: Self.dealColumns)
      FROM deals d WHERE d.id = \(dealID) FOR UPDATE OF d
      """,
      logger: logger)
    guard let deal = try await decodeDeals(rows).first?.deal else { throw NotFound(entity: "deal", id: id) }
    guard deal.version == expectedVersion else {
      throw VersionConflict(entity: "deal", id: id, expected: expectedVersion, current: deal.version)
    }
    guard deal.status == .open else {
      throw RuleBroken(description: "deal \(id) is \(deal.status.text); closed deals do not change")
    }
    return deal
  }

  /// Locks the open deal at `expectedVersion` and lets `change` write its update (which raises
  /// the version), its history and its event, on the deal it returns; one transaction.
  func changeOpenDeal(
    _ id: String, expectedVersion: Int64,
    _ change: @Sendable (inout Crm_Deals_V1_Deal, UUID, PostgresConnection) async throws -> Void
  ) async throws -> Crm_Deals_V1_Deal {
    try await client.withTransaction(logger: logger) { connection in
      var deal = try await lockOpenDeal(id, expectedVersion: expectedVersion, on: connection)
      try await change(&deal, try uuid(id, "deal"), connection)
      return deal
    }
  }
}
