import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import Foundation
import PostgresNIO

/// A deal with its history, listings, and the open deals of a contact.
extension PostgresDealsRepository {
  func deal(id: String) async throws -> Crm_Deals_V1_DealWithHistory {
    let dealID = try UUID(id, of: "deal")
    return try await client.withConnection { connection in
      let rows = try await connection.query(
        "SELECT \(unescaped: Self.dealColumns) FROM deals d WHERE d.id = \(dealID)",
        logger: logger)
      guard let deal = try await decodeDeals(rows).first?.deal else { throw NotFound(entity: "deal", id: id) }
      let transitions = try await transitions(of: dealID, on: connection)
      let objections = try await objections(of: dealID, last: false, on: connection)
      return .with {
        $0.deal = deal
        $0.transitions = transitions
        $0.objections = objections
      }
    }
  }

  private func transitions(of dealID: UUID, on connection: PostgresConnection) async throws
    -> [Crm_Deals_V1_StageTransition]
  {
    let rows = try await connection.query(
      """
      SELECT from_stage_id, to_stage_id, skipped_stage_ids, actor, moved_at FROM deal_transitions
      WHERE deal_id = \(dealID) ORDER BY seq
      """,
      logger: logger)
    var transitions: [Crm_Deals_V1_StageTransition] = []
    for try await (from, to, skipped, actor, movedAt) in rows.decode((UUID, UUID, [UUID], String, Date).self) {
      transitions.append(
        .with {
          $0.fromStageID = from.text
          $0.toStageID = to.text
          $0.skippedStageIds = skipped.map(\.text)
          $0.actor = actor
          $0.movedAt = movedAt.timestamp
        })
    }
    return transitions
  }

  /// The deal's objections in order, or only the last one.
  func objections(of dealID: UUID, last: Bool, on connection: PostgresConnection) async throws
    -> [Crm_Deals_V1_Objection]
  {
    let rows = try await connection.query(
      """
      SELECT id, stage_id, reason, kind, conditions, actor, raised_at FROM (
        SELECT * FROM deal_objections WHERE deal_id = \(dealID)
        ORDER BY seq DESC LIMIT CASE WHEN \(last) THEN 1 END
      ) o ORDER BY seq
      """,
      logger: logger)
    var objections: [Crm_Deals_V1_Objection] = []
    for try await (id, stageID, reason, kind, conditions, actor, raisedAt) in rows.decode(
      (UUID, UUID, String, String, String, String, Date).self)
    {
      objections.append(
        .with {
          $0.id = id.text
          $0.stageID = stageID.text
          $0.reason = reason
          $0.kind = Crm_Deals_V1_ObjectionKind(text: kind)
          $0.conditions = conditions
          $0.actor = actor
          $0.raisedAt = raisedAt.timestamp
        })
    }
    return objections
  }

  func deals(_ filter: DealFilter, after cursor: Int64?, limit: Int) async throws -> (
    [Crm_Deals_V1_Deal], next: Int64?
  ) {
    let status = filter.status == .unspecified ? nil : filter.status.text
    let kind = filter.kind == .unspecified ? nil : filter.kind.text
    let rows = try await client.query(
      """
      SELECT \(unescaped: Self.dealColumns)
      FROM deals d
      WHERE d.seq > \(cursor ?? 0)
        AND (\(filter.pipelineID)::uuid IS NULL OR d.pipeline_id = \(filter.pipelineID))
        AND (\(filter.stageID)::uuid IS NULL OR d.stage_id = \(filter.stageID))
        AND (\(filter.ownerID) = '' OR d.owner_id = \(filter.ownerID))
        AND (\(status)::text IS NULL OR d.status = \(status))
        AND (\(kind)::text IS NULL OR d.kind = \(kind))
      ORDER BY d.seq LIMIT \(limit + 1)
      """,
      logger: logger)
    let found = try await decodeDeals(rows)
    guard found.count > limit else { return (found.map(\.deal), nil) }
    return (found.prefix(limit).map(\.deal), found[limit - 1].seq)
  }

  func openDeals(contactID: String) async throws -> [Crm_Deals_V1_Deal] {
    let id = try UUID(contactID, of: "contact")
    let rows = try await client.query(
      """
      SELECT \(unescaped: Self.dealColumns)
      FROM deals d
      WHERE d.contact_id = \(id) AND d.status = 'open' ORDER BY d.seq
      """,
      logger: logger)
    let deals = try await decodeDeals(rows).map(\.deal)
    if deals.isEmpty {
      let known = try await client.query("SELECT 1 FROM known_contacts WHERE id = \(id)", logger: logger).collect()
      guard !known.isEmpty else { throw NotFound(entity: "contact", id: contactID) }
    }
    return deals
  }
}
