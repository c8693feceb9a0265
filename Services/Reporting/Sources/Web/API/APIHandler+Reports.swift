import CRMContracts
import Foundation
import SwiftProtobuf

/// Each report: the query as the reporting request, the reply as the document's schema.
extension APIHandler {
  func getFunnel(_ input: Operations.GetFunnel.Input) async throws -> Operations.GetFunnel.Output {
    let query = input.query
    let reply = try await report("GetFunnel", owner: query.owner, pipeline: query.pipeline) { service, context in
      try await service.getFunnel(
        request: .with {
          $0.pipelineID = query.pipeline
          if let period = Self.period(query.from, query.to) { $0.period = period }
          switch query.kind {
          case .consultative: $0.kind = .consultative
          case .active: $0.kind = .active
          case nil: break
          }
          $0.source = query.source ?? ""
          $0.ownerID = query.owner ?? ""
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.funnel(reply))))
  }

  func getLeadFunnel(_ input: Operations.GetLeadFunnel.Input) async throws -> Operations.GetLeadFunnel.Output {
    let query = input.query
    let reply = try await report("GetLeadFunnel", owner: query.owner) { service, context in
      try await service.getLeadFunnel(
        request: .with {
          if let period = Self.period(query.from, query.to) { $0.period = period }
          $0.businessLine = query.businessLine ?? ""
          $0.source = query.source ?? ""
          $0.ownerID = query.owner ?? ""
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.leadFunnel(reply))))
  }

  func getLosses(_ input: Operations.GetLosses.Input) async throws -> Operations.GetLosses.Output {
    let query = input.query
    let reply = try await report("GetLosses", owner: query.owner, pipeline: query.pipeline) { service, context in
      try await service.getLosses(
        request: .with {
          $0.pipelineID = query.pipeline ?? ""
          if let period = Self.period(query.from, query.to) { $0.period = period }
          $0.ownerID = query.owner ?? ""
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.losses(reply))))
  }

  func getStalledDeals(_ input: Operations.GetStalledDeals.Input) async throws -> Operations.GetStalledDeals.Output {
    let query = input.query
    let reply = try await report(
      "GetStalledDeals", owner: query.owner, pipeline: query.pipeline, stage: query.stage
    ) { service, context in
      try await service.getStalledDeals(
        request: .with {
          $0.days = query.days
          if let asOf = query.asOf { $0.asOf = Google_Protobuf_Timestamp(date: asOf) }
          $0.pipelineID = query.pipeline ?? ""
          $0.stageID = query.stage ?? ""
          $0.ownerID = query.owner ?? ""
          $0.page = .with {
            $0.pageSize = query.pageSize ?? 0
            $0.pageToken = query.cursor ?? ""
          }
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.stalledDeals(reply))))
  }

  func getForecast(_ input: Operations.GetForecast.Input) async throws -> Operations.GetForecast.Output {
    let query = input.query
    let reply = try await report("GetForecast", pipeline: query.pipeline) { service, context in
      try await service.getForecast(
        request: .with {
          $0.pipelineID = query.pipeline ?? ""
          $0.currency = query.currency ?? ""
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.forecast(reply))))
  }

  func getForecastBacktest(_ input: Operations.GetForecastBacktest.Input) async throws
    -> Operations.GetForecastBacktest.Output
  {
    let query = input.query
    let reply = try await report("GetForecastBacktest", pipeline: query.pipeline) { service, context in
      try await service.getForecastBacktest(
        request: .with {
          $0.months = query.months
          $0.pipelineID = query.pipeline ?? ""
          $0.currency = query.currency ?? ""
          if let asOf = query.asOf { $0.asOf = Google_Protobuf_Timestamp(date: asOf) }
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.backtest(reply))))
  }

  func getDiscipline(_ input: Operations.GetDiscipline.Input) async throws -> Operations.GetDiscipline.Output {
    let query = input.query
    let reply = try await report("GetDiscipline", owner: query.owner) { service, context in
      try await service.getDiscipline(
        request: .with {
          if let period = Self.period(query.from, query.to) { $0.period = period }
          $0.managerID = query.owner ?? ""
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.discipline(reply))))
  }

  func getCardCompleteness(_ input: Operations.GetCardCompleteness.Input) async throws
    -> Operations.GetCardCompleteness.Output
  {
    let query = input.query
    let reply = try await report("GetCardCompleteness", owner: query.owner) { service, context in
      try await service.getCardCompleteness(request: .with { $0.managerID = query.owner ?? "" }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.cardCompleteness(reply))))
  }

  func getQualityScores(_ input: Operations.GetQualityScores.Input) async throws -> Operations.GetQualityScores.Output {
    let query = input.query
    let reply = try await report("GetQualityScores", owner: query.owner) { service, context in
      try await service.getQualityScores(
        request: .with {
          if let period = Self.period(query.from, query.to) { $0.period = period }
          $0.managerID = query.owner ?? ""
          switch query.bucket {
          case .week: $0.bucket = .week
          case .month: $0.bucket = .month
          case nil: break
          }
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.qualityScores(reply))))
  }

  func getLeaderboard(_ input: Operations.GetLeaderboard.Input) async throws -> Operations.GetLeaderboard.Output {
    let query = input.query
    let reply = try await report("GetLeaderboard") { service, context in
      try await service.getLeaderboard(
        request: .with {
          if let period = Self.period(query.from, query.to) { $0.period = period }
          $0.currency = query.currency ?? ""
        }, context: context)
    }
    return .ok(.init(body: .json(APIReplies.leaderboard(reply))))
  }
}
