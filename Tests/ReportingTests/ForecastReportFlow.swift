import CRMContracts
import CRMEvents
import Foundation
import SwiftProtobuf

@testable import ReportingService

/// Deals for the forecast tests, as the deals service publishes them: one pipeline of one stage
/// (default probability 20%), deals opened with an amount and maybe an expected close, estimated
/// by their owner, won or lost.
struct ForecastFlow {
  static let stageDefault: Int32 = 20
  /// 2026-01-05 00:00 UTC.
  static let start = SalesFlow.start
  static func day(_ days: Double) -> Date { SalesFlow.day(days) }
  /// Midnight UTC of a day of 2026.
  static func date(_ month: Int, _ day: Int) -> Date {
    var components = DateComponents(year: 2026, month: month, day: day)
    components.timeZone = TimeZone(identifier: "UTC")
    return Calendar(identifier: .gregorian).date(from: components)!
  }

  let pipelineID = UUID().uuidString.lowercased()
  let stageID = UUID().uuidString.lowercased()

  final class DealState {
    var deal: Crm_Deals_V1_Deal
    init(_ deal: Crm_Deals_V1_Deal) { self.deal = deal }
  }

  func pipelineDefined() throws -> ReceivedEvent {
    try Envelopes.event(
      Crm_Deals_V1_PipelineDefined.with {
        $0.pipeline = .with {
          $0.id = pipelineID
          $0.businessLine = "training"
          $0.name = "Forecast"
          $0.version = 1
          $0.lossReasons = ["price"]
          $0.stages = [
            .with {
              $0.id = stageID
              $0.name = "Proposal"
              $0.result = "Sent"
              $0.position = 1
              $0.defaultProbability = Self.stageDefault
            }
          ]
        }
      }, topic: EventTopics.deals, aggregateID: pipelineID, version: 1, at: Self.start)
  }

  /// Opened at `at`; `expectedClose` as (month, day) of 2026.
  func open(
    owner: String, amount: Int64, currency: String = "RUB", expectedClose: (Int32, Int32)? = nil, at: Date
  ) throws -> (DealState, ReceivedEvent) {
    let state = DealState(
      .with {
        $0.id = UUID().uuidString.lowercased()
        $0.contactID = UUID().uuidString.lowercased()
        $0.pipelineID = pipelineID
        $0.stageID = stageID
        $0.ownerID = owner
        $0.kind = .consultative
        $0.source = "site"
        $0.amount = .with {
          $0.minorUnits = amount
          $0.currency = currency
        }
        if let expectedClose {
          $0.expectedClose = .with {
            $0.year = 2026
            $0.month = expectedClose.0
            $0.day = expectedClose.1
          }
        }
        $0.status = .open
        $0.probability = Self.stageDefault
        $0.openedAt = Google_Protobuf_Timestamp(date: at)
        $0.version = 1
      })
    return (state, try event(Crm_Deals_V1_DealOpened.with { $0.deal = state.deal }, state, at: at))
  }

  func estimate(_ state: DealState, _ probability: Int32, at: Date) throws -> ReceivedEvent {
    state.deal.probability = probability
    state.deal.ownerProbability = probability
    state.deal.ownerEstimated = true
    state.deal.version += 1
    return try event(Crm_Deals_V1_ProbabilityEstimated.with { $0.deal = state.deal }, state, at: at)
  }

  func close(_ state: DealState, won: Bool, at: Date) throws -> ReceivedEvent {
    state.deal.status = won ? .won : .lost
    state.deal.closedAt = Google_Protobuf_Timestamp(date: at)
    state.deal.version += 1
    if won { return try event(Crm_Deals_V1_DealWon.with { $0.deal = state.deal }, state, at: at) }
    state.deal.lossStageID = state.deal.stageID
    state.deal.lossReason = "price"
    return try event(Crm_Deals_V1_DealLost.with { $0.deal = state.deal }, state, at: at)
  }

  /// An open deal the owner estimated at `probability` (nil: the stage default stays).
  func opened(
    owner: String, amount: Int64, probability: Int32?, currency: String = "RUB", expectedClose: (Int32, Int32)? = nil,
    at: Date
  ) throws -> (DealState, [ReceivedEvent]) {
    let (state, opened) = try open(
      owner: owner, amount: amount, currency: currency, expectedClose: expectedClose, at: at)
    guard let probability else { return (state, [opened]) }
    return (state, [opened, try estimate(state, probability, at: at.addingTimeInterval(600))])
  }

  /// `count` deals of `owner` opened at `at`, estimated at `probability`, the first `won` of them
  /// won and the rest lost at `closedAt`.
  func closed(owner: String, count: Int, won: Int, probability: Int32, at: Date, closedAt: Date) throws
    -> [ReceivedEvent]
  {
    var events: [ReceivedEvent] = []
    for index in 0..<count {
      let (state, opened) = try opened(owner: owner, amount: 1_000, probability: probability, at: at)
      events += opened
      events.append(try close(state, won: index < won, at: closedAt))
    }
    return events
  }

  func event(_ payload: some Message, _ state: DealState, at: Date) throws -> ReceivedEvent {
    try Envelopes.event(
      payload, topic: EventTopics.deals, aggregateID: state.deal.id, version: state.deal.version, at: at)
  }
}
