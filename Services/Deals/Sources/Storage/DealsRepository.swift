import CRMContracts
import CRMIdentity
import Foundation

/// Filters of a deal listing; empty or unspecified means any.
struct DealFilter: Sendable {
  var pipelineID: UUID?
  var stageID: UUID?
  var ownerID: String
  var status: Crm_Deals_V1_DealStatus
  var kind: Crm_Deals_V1_DealKind
}

/// Where pipelines and deals are kept. Every mutation checks the expected version, writes its
/// events to the outbox in the same transaction, and names its `actor` (kept in history and events).
protocol DealsRepository: Sendable {
  func definePipeline(_ definition: PipelineDefinition, id: String, expectedVersion: Int64, actor: String)
    async throws -> Crm_Deals_V1_Pipeline
  func pipeline(id: String) async throws -> Crm_Deals_V1_Pipeline
  func pipelines() async throws -> [Crm_Deals_V1_Pipeline]

  func openDeal(_ deal: DealInput.NewDeal, actor: String) async throws -> Crm_Deals_V1_Deal
  // `at`: a history import's checked time (nil: now); refused before the deal's last change.
  func moveDeal(id: String, to stage: UUID, expectedVersion: Int64, at: Date?, actor: Principal) async throws
    -> Crm_Deals_V1_Deal
  func raiseObjection(
    id: String, reason: String, kind: Crm_Deals_V1_ObjectionKind, conditions: String, expectedVersion: Int64,
    at: Date?, actor: Principal
  ) async throws -> Crm_Deals_V1_Deal
  func estimateProbability(id: String, probability: Int32, expectedVersion: Int64, at: Date?, actor: Principal)
    async throws -> Crm_Deals_V1_Deal
  func changeAmount(id: String, amount: Crm_Common_V1_Money, expectedVersion: Int64, at: Date?, actor: Principal)
    async throws -> Crm_Deals_V1_Deal
  func winDeal(id: String, expectedVersion: Int64, at: Date?, actor: Principal) async throws -> Crm_Deals_V1_Deal
  func loseDeal(id: String, reason: String, expectedVersion: Int64, at: Date?, actor: Principal) async throws
    -> Crm_Deals_V1_Deal

  func deal(id: String) async throws -> Crm_Deals_V1_DealWithHistory
  func deals(_ filter: DealFilter, after cursor: Int64?, limit: Int) async throws -> ([Crm_Deals_V1_Deal], next: Int64?)
  func openDeals(contactID: String) async throws -> [Crm_Deals_V1_Deal]
}
