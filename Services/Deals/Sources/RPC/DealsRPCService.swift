import CRMContracts
import CRMDomain
import CRMIdentity
import CRMRPC
import CRMRuntime
import Foundation
import GRPCCore
import SwiftProtobuf

/// The deals service's RPCs: checks input (INVALID_ARGUMENT names the field, nothing is
/// written), then hands it to the repository; domain failures answer with their status.
struct DealsRPCService: Crm_Deals_V1_Deals.SimpleServiceProtocol {
  let repository: any DealsRepository
  let pageTokens: PageTokenKey

  // MARK: Pipelines

  func definePipeline(request: Crm_Deals_V1_DefinePipelineRequest, context: ServerContext) async throws
    -> Crm_Deals_V1_Pipeline
  {
    try await answering {
      let definition = try PipelineDefinition.validate(request)
      return try await repository.definePipeline(
        definition, id: request.pipelineID, expectedVersion: request.expectedVersion,
        actor: try Principal.verified.description)
    }
  }

  func getPipeline(request: Crm_Deals_V1_GetPipelineRequest, context: ServerContext) async throws
    -> Crm_Deals_V1_Pipeline
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.pipeline(id: request.pipelineID)
    }
  }

  func listPipelines(request: Crm_Deals_V1_ListPipelinesRequest, context: ServerContext) async throws
    -> Crm_Deals_V1_ListPipelinesReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let pipelines = try await repository.pipelines()
      return .with { $0.pipelines = pipelines }
    }
  }

  // MARK: Deals

  func openDeal(request: Crm_Deals_V1_OpenDealRequest, context: ServerContext) async throws -> Crm_Deals_V1_Deal {
    try await answering {
      let principal = try Principal.verified
      let deal = try DealInput.newDeal(request, openedAt: try occurredAt(request.hasOccurredAt, request.occurredAt))
      // A manager opens deals only as their owner (no mass assignment to a colleague).
      try principal.checkMayChange("new deal", ownedBy: deal.ownerID)
      return try await repository.openDeal(deal, actor: principal.description)
    }
  }

  func moveDeal(request: Crm_Deals_V1_MoveDealRequest, context: ServerContext) async throws -> Crm_Deals_V1_Deal {
    try await answering {
      try request.requireKnownFields("request")
      let target = try DealInput.id(request.toStageID, "to_stage_id")
      return try await repository.moveDeal(
        id: request.dealID, to: target, expectedVersion: request.expectedVersion,
        at: try occurredAt(request.hasOccurredAt, request.occurredAt), actor: try Principal.verified)
    }
  }

  func raiseObjection(request: Crm_Deals_V1_RaiseObjectionRequest, context: ServerContext) async throws
    -> Crm_Deals_V1_Deal
  {
    try await answering {
      let objection = try DealInput.objection(request)
      return try await repository.raiseObjection(
        id: request.dealID, reason: objection.reason, kind: objection.kind, conditions: objection.conditions,
        expectedVersion: request.expectedVersion, at: try occurredAt(request.hasOccurredAt, request.occurredAt),
        actor: try Principal.verified)
    }
  }

  func estimateProbability(request: Crm_Deals_V1_EstimateProbabilityRequest, context: ServerContext) async throws
    -> Crm_Deals_V1_Deal
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.estimateProbability(
        id: request.dealID, probability: try DealInput.probability(request.probability),
        expectedVersion: request.expectedVersion, at: try occurredAt(request.hasOccurredAt, request.occurredAt),
        actor: try Principal.verified)
    }
  }

  func changeAmount(request: Crm_Deals_V1_ChangeAmountRequest, context: ServerContext) async throws
    -> Crm_Deals_V1_Deal
  {
    try await answering {
      try request.requireKnownFields("request")
      guard request.hasAmount else { throw InvalidField(field: "amount", reason: "is missing") }
      return try await repository.changeAmount(
        id: request.dealID, amount: try DealInput.money(request.amount, "amount"),
        expectedVersion: request.expectedVersion, at: try occurredAt(request.hasOccurredAt, request.occurredAt),
        actor: try Principal.verified)
    }
  }

  func winDeal(request: Crm_Deals_V1_WinDealRequest, context: ServerContext) async throws -> Crm_Deals_V1_Deal {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.winDeal(
        id: request.dealID, expectedVersion: request.expectedVersion,
        at: try occurredAt(request.hasOccurredAt, request.occurredAt), actor: try Principal.verified)
    }
  }

  func loseDeal(request: Crm_Deals_V1_LoseDealRequest, context: ServerContext) async throws -> Crm_Deals_V1_Deal {
    try await answering {
      try request.requireKnownFields("request")
      // Checked here for the field's name; matched against the pipeline's list by the repository.
      _ = try DealInput.lossReason(request.reason, listed: [])
      return try await repository.loseDeal(
        id: request.dealID, reason: request.reason, expectedVersion: request.expectedVersion,
        at: try occurredAt(request.hasOccurredAt, request.occurredAt), actor: try Principal.verified)
    }
  }

  /// A change's `occurred_at` (history import) when the request has one: checked, operators only.
  private func occurredAt(_ has: Bool, _ timestamp: Google_Protobuf_Timestamp) throws -> Date? {
    try DealInput.occurredAt(has ? timestamp : nil, byOperator: try Principal.verified.holds(.operator))
  }

  // MARK: Queries

  func getDeal(request: Crm_Deals_V1_GetDealRequest, context: ServerContext) async throws
    -> Crm_Deals_V1_DealWithHistory
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.deal(id: request.dealID)
    }
  }

  func listDeals(request: Crm_Deals_V1_ListDealsRequest, context: ServerContext) async throws
    -> Crm_Deals_V1_ListDealsReply
  {
    try await answering {
      try request.requireKnownFields("request")
      let page = try Page(request.page, scope: "ListDeals", key: pageTokens)
      let filter = DealFilter(
        pipelineID: request.pipelineID.isEmpty ? nil : try DealInput.id(request.pipelineID, "pipeline_id"),
        stageID: request.stageID.isEmpty ? nil : try DealInput.id(request.stageID, "stage_id"),
        ownerID: request.ownerID, status: request.status, kind: request.kind)
      let (deals, next) = try await repository.deals(filter, after: page.cursor, limit: page.size)
      return .with {
        $0.deals = deals
        $0.nextPageToken = next.map(page.token) ?? ""
      }
    }
  }

  func listOpenDealsOfContact(request: Crm_Deals_V1_ListOpenDealsOfContactRequest, context: ServerContext)
    async throws -> Crm_Deals_V1_ListDealsReply
  {
    try await answering {
      try request.requireKnownFields("request")
      _ = try DealInput.id(request.contactID, "contact_id")
      let deals = try await repository.openDeals(contactID: request.contactID)
      return .with { $0.deals = deals }
    }
  }
}
