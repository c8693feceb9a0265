import CRMContracts
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ReportingService

/// The leaderboard over `TeamFlow`: ranks per measure (ties shared, discipline fewest first,
/// conversion by its Wilson lower bound), a currency filter, a manager's own row and the team's.
@Suite("Reporting leaderboard")
struct LeaderboardTests {
  @Test func managersAreRankedOnEachMeasure() async throws {
    try await DisciplineTests.withHistory { context, _ in
      let board = try await context.reporting.getLeaderboard(.init())
      #expect(board.currency == "RUB" && board.managers == 3)
      #expect(board.entries.map(\.managerID) == ["", "m-3", "m-1", "m-2"] && board.entries[0].team)
      func entry(_ id: String) throws -> Crm_Reporting_V1_GetLeaderboardReply.Entry {
        try #require(board.entries.first { $0.managerID == id })
      }
      let (one, two, three) = (try entry("m-1"), try entry("m-2"), try entry("m-3"))
      #expect([three.wonAmount.value, one.wonAmount.value, two.wonAmount.value] == [500_000, 100_000, 0])
      #expect([three.wonAmount.rank, one.wonAmount.rank, two.wonAmount.rank] == [1, 2, 3])
      #expect(three.conversionRate.successes == 3 && three.conversionRate.trials == 3)
      #expect(three.conversionRate.lower == WilsonInterval(successes: 3, trials: 3).lower)
      #expect([three.conversion.rank, one.conversion.rank, two.conversion.rank] == [1, 2, 3])
      #expect([three.activities.value, two.activities.value, one.activities.value] == [4, 1, 0])
      #expect([three.activities.rank, two.activities.rank, one.activities.rank] == [1, 2, 0])
      #expect(abs(three.qcScore.value - 230.0 / 3) < 1e-9 && three.qcReviews == 3 && two.qcScore.value == 50)
      #expect([three.qcScore.rank, two.qcScore.rank, one.qcScore.rank] == [1, 2, 0])
      #expect([two.discipline.value, one.discipline.value, three.discipline.value] == [1, 3, 7.5])
      #expect([two.discipline.rank, one.discipline.rank, three.discipline.rank] == [1, 2, 3])
      let team = board.entries[0]
      #expect(team.wonAmount.value == 600_000 && team.conversionRate.successes == 4 && team.conversionRate.trials == 6)
      #expect(team.qcReviews == 5 && team.activities.value == 5)

      // In euros m-3 alone won; the others tie at 0.
      let euros = try await context.reporting.getLeaderboard(.with { $0.currency = "EUR" })
      #expect(euros.entries.dropFirst().map(\.wonAmount.rank) == [1, 2, 2])
      #expect(euros.entries[1].managerID == "m-3" && euros.entries[1].wonAmount.value == 999_999)
      // Closed before day 9: m-3's wins are out.
      let early = try await context.reporting.getLeaderboard(
        .with { $0.period.to = Google_Protobuf_Timestamp(date: SalesFlow.day(9)) })
      #expect(early.entries.first { $0.managerID == "m-3" }?.wonAmount.rank == 0)
    }
  }

  @Test func aManagerSeesHisOwnRowWithItsRanksAndTheTeamRow() async throws {
    try await DisciplineTests.withHistory { context, _ in
      let mine = try await context.as("manager:m-2") { try await context.reporting.getLeaderboard(.init()) }
      #expect(mine.managers == 3 && mine.entries.map(\.managerID) == ["", "m-2"])
      #expect(mine.entries[1].discipline.rank == 1 && mine.entries[1].wonAmount.rank == 3)
      for caller in ["qc_reviewer:r-1", "qc_head:q-1"] {
        let code = await statusCode {
          try await context.as(caller) { try await context.reporting.getLeaderboard(.init()) }
        }
        #expect(code == .permissionDenied, "\(caller)")
      }
      do {
        _ = try await context.reporting.getLeaderboard(.with { $0.currency = "rub" })
        Issue.record("a lower-case currency was accepted")
      } catch let error as RPCError {
        #expect(error.code == .invalidArgument && error.message.contains("currency"))
      }
    }
  }

  @Test func ranksAreSharedOnTiesAndSkipAfter() {
    #expect(Ranking.ranks([5, 7, 7, nil, 1]) == [3, 1, 1, 0, 4])
    #expect(Ranking.ranks([2, 0.5, nil, 2], higherIsBetter: false) == [2, 1, 0, 2])
    #expect(Trend.slope([(0, 1), (1, 3), (2, 5)]) == 2)
    #expect(Trend.slope([(3, 4)]) == 0)
    #expect(abs(Trend.slope([(0, 6), (2, 6), (3, 9)]) - 6.0 / 7) < 1e-12)
  }
}
