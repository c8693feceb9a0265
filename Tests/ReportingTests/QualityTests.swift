import CRMContracts
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ReportingService

/// QC scores over `TeamFlow`: rep codes made with the harness's key map back to m-2 and m-3, a
/// code made from no known id stays a code, coverage against the calls logged, who sees what.
@Suite("Reporting QC scores")
struct QualityTests {
  @Test func scoresPerRepAreMappedBackToManagers() async throws {
    try await DisciplineTests.withHistory { context, _ in
      let reply = try await context.reporting.getQualityScores(.init())
      #expect(reply.reps.map(\.managerID) == ["", "m-2", "m-3", ""])
      #expect(reply.reps.map(\.repCode) == ["", TeamFlow.code("m-2"), TeamFlow.code("m-3"), "REPCODE234567ABC"])
      let late = reply.reps[2]
      #expect(late.reviews == 3 && late.itemsReviewed == 2 && abs(late.meanScore - 230.0 / 3) < 1e-9)
      #expect(late.buckets.map(\.start.date) == [SalesFlow.day(0), SalesFlow.day(7)])
      #expect(late.buckets.map(\.reviews) == [2, 1] && late.buckets.map(\.meanScore) == [70, 90])
      #expect(late.reportsLogged == 4 && late.coverage == 0.5)
      let steady = reply.reps[1]
      #expect(steady.reviews == 1 && steady.meanScore == 50 && steady.reportsLogged == 1 && steady.coverage == 1)
      let unknown = reply.reps[3]
      #expect(!unknown.team && unknown.reviews == 1 && unknown.meanScore == 75 && unknown.reportsLogged == 0)
      let team = reply.reps[0]
      #expect(team.team && team.reviews == 5 && team.itemsReviewed == 4 && abs(team.meanScore - 71) < 1e-9)
      #expect(team.reportsLogged == 5)

      let monthly = try await context.reporting.getQualityScores(
        .with {
          $0.bucket = .month
          $0.managerID = "m-3"
        })
      #expect(monthly.reps.map(\.managerID) == ["", "m-3"])
      #expect(monthly.reps[1].buckets.map(\.start.date) == [Date(timeIntervalSince1970: 1_767_225_600)])
      let early = try await context.reporting.getQualityScores(
        .with { $0.period.to = Google_Protobuf_Timestamp(date: SalesFlow.day(7)) })
      #expect(early.reps.first { $0.managerID == "m-3" }.map { [$0.reviews, $0.reportsLogged] } == [2, 2])
    }
  }

  @Test func aManagerSeesHisOwnScoresAndTheTeamsQualityControlNone() async throws {
    try await DisciplineTests.withHistory { context, _ in
      let mine = try await context.as("manager:m-3") { try await context.reporting.getQualityScores(.init()) }
      #expect(mine.reps.map(\.managerID) == ["", "m-3"] && mine.reps[0].reviews == 5)
      // A manager nobody else knows of yet still maps to his own code.
      let newcomer = try await context.as("manager:m-9") { try await context.reporting.getQualityScores(.init()) }
      #expect(newcomer.reps.map(\.team) == [true])
      for caller in ["qc_reviewer:r-1", "qc_head:q-1"] {
        let code = await statusCode {
          try await context.as(caller) { try await context.reporting.getQualityScores(.init()) }
        }
        #expect(code == .permissionDenied, "\(caller)")
      }
      do {
        _ = try await context.reporting.getQualityScores(.with { $0.bucket = .UNRECOGNIZED(7) })
        Issue.record("an unknown bucket was accepted")
      } catch let error as RPCError {
        #expect(error.code == .invalidArgument && error.message.contains("bucket"))
      }
    }
  }
}
