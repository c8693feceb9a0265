import CRMContracts
import CRMHistory
import CRMKafka
import CRMRPC
import Foundation
import GRPCCore
import Testing

/// Reporting's reports of one generated history against its plan and truth, asked over RPC.
struct HistoryReportChecks {
  typealias Expected = HistoryReportingExpectations

  let plan: HistoryPlan
  let truth: PlantedTruth
  let reporting: Crm_Reporting_V1_Reporting.Client<KafkaClientTransport>
  let pipelines: [Crm_Deals_V1_Pipeline]
  let reviewsSubmitted: Int

  var managers: [PlantedTruth.Manager] { truth.managers }

  func manager(_ id: String) throws -> PlantedTruth.Manager {
    try #require(truth.managers.first { $0.planted.id == id })
  }

  func sum(_ figure: (PlantedTruth.Manager) -> Int) -> Int64 {
    Int64(truth.managers.reduce(0) { $0 + figure($1) })
  }

  /// A business line's pipeline: its id and its stage ids in order.
  func pipeline(_ line: Catalogue.Line) throws -> (id: String, stages: [String]) {
    let pipeline = try #require(pipelines.first { $0.businessLine == line.businessLine })
    return (pipeline.id, pipeline.stages.filter { !$0.retired }.sorted { $0.position < $1.position }.map(\.id))
  }

  struct NotCaughtUp: Error, CustomStringConvertible {
    var description: String
  }

  /// Returns once reporting has applied the whole history: the totals of every kind of event it
  /// projects stand where the truth says (deals, moves, amounts, estimates, losses, leads, cards,
  /// activities, reviews).
  func caughtUp(within limit: Duration) async throws {
    let deadline = ContinuousClock.now + limit
    while true {
      let missing: [String]
      do {
        missing = try await behind()
      } catch let error as RPCError {
        missing = ["\(error.code): \(error.message)"]  // e.g. a pipeline reporting has not learnt yet
      }
      if missing.isEmpty { return }
      guard ContinuousClock.now < deadline else {
        throw NotCaughtUp(description: "reporting behind after \(limit): " + missing.joined(separator: "; "))
      }
      try await Task.sleep(for: .milliseconds(500))
    }
  }

  /// What reporting has not applied yet, by the totals it shows.
  func behind() async throws -> [String] {
    var missing: [String] = []
    func want<Value: Equatable>(_ what: String, _ seen: Value?, _ expected: Value) {
      if seen != expected { missing.append("\(what): \(seen.map { "\($0)" } ?? "none") of \(expected)") }
    }
    let board = try await reporting.getLeaderboard(.init()).entries.first(where: \.team)
    want("won deals", board?.wonDeals, sum { $0.deals.won })
    want("won amount", board?.wonAmount.value, Double(truth.managers.reduce(0) { $0 + $1.wonMinor }))
    want("activities", board?.activities.value, Double(sum(\.activities)))
    want("reviews", board?.qcReviews, Int64(reviewsSubmitted))
    let leads = try await reporting.getLeadFunnel(.init()).rows.filter(\.team)
    want("leads", leads.reduce(0) { $0 + $1.leads }, sum { $0.leads.created })
    want("leads closed", leads.reduce(0) { $0 + $1.converted + $1.rejected }, sum { $0.leads.created })
    let cards = try await reporting.getCardCompleteness(.init()).managers.first(where: \.team)
    want("contacts", cards?.contacts, sum(\.cards.contacts))
    want("deals", cards?.deals, sum(\.dealFields.deals))
    want("deal fields", cards?.dealFieldsFilled, sum(\.dealFields.filled))
    want("lost", try await reporting.getLosses(.init()).lost, sum { $0.deals.lost })
    for line in Catalogue.lines {
      let id = try pipeline(line).id
      let team = try await reporting.getFunnel(.with { $0.pipelineID = id }).rows.filter(\.team)
      want(
        "\(line.businessLine) stage visits", team.reduce(0) { $0 + $1.entered + $1.skipped },
        sum { $0.stages[line.businessLine]!.reduce(0) { $0 + $1.entered + $1.skipped } })
      want(
        "\(line.businessLine) deals left", team.reduce(0) { $0 + $1.entered - $1.open },
        sum { $0.stages[line.businessLine]!.reduce(0) { $0 + $1.entered - $1.open } })
    }
    return missing
  }

  /// Per pipeline × manager × stage, the counts as planted; and the manager planted strong
  /// early and weak late converts more than the team at the first two stages of each pipeline
  /// and less at the last three (the one planted the other way round, the reverse).
  func funnel() async throws {
    var rows: [(row: Crm_Reporting_V1_GetFunnelReply.Row, index: Int, stages: Int)] = []
    for line in Catalogue.lines {
      let (id, stages) = try pipeline(line)
      let funnel = try await reporting.getFunnel(.with { $0.pipelineID = id })
      for row in funnel.rows {
        rows.append((row, try #require(stages.firstIndex(of: row.stageID)), stages.count))
      }
      for manager in managers {
        for (index, planted) in manager.stages[line.businessLine]!.enumerated() {
          let stage = stages[index]
          let row: Crm_Reporting_V1_GetFunnelReply.Row =
            funnel.rows.first { !$0.team && $0.ownerID == manager.planted.id && $0.stageID == stage } ?? .init()
          let seen: [Int64] = [row.entered, row.advanced, row.skipped, row.lost, row.won, row.open]
          let expected: [Int64] = [
            planted.entered, planted.advanced, planted.skipped, planted.lost, planted.won, planted.open,
          ]
          .map(Int64.init)
          #expect(seen == expected, "\(manager.planted.id), \(line.businessLine) stage \(index)")
        }
      }
    }
    func conversion(_ owner: String?, early: Bool) -> Double {
      Expected.conversion(rows.filter { owner == nil ? $0.row.team : !$0.row.team && $0.row.ownerID == owner }) {
        early ? $0 < 2 : $0 >= $1 - 3
      }
    }
    let team = (early: conversion(nil, early: true), late: conversion(nil, early: false))
    let early = (early: conversion("m-early", early: true), late: conversion("m-early", early: false))
    let late = (early: conversion("m-late", early: true), late: conversion("m-late", early: false))
    #expect(early.early > team.early && early.late < team.late, "m-early \(early), team \(team)")
    #expect(late.early < team.early && late.late > team.late, "m-late \(late), team \(team)")
  }

  /// Leads per source and manager: created, converted, rejected by reason, none open.
  func leadFunnel() async throws {
    let reply = try await reporting.getLeadFunnel(.init())
    var rows = 0
    for manager in managers {
      for (source, planted) in manager.leadsBySource {
        rows += 1
        let row = try #require(
          reply.rows.first { !$0.team && $0.ownerID == manager.planted.id && $0.source == source },
          "\(manager.planted.id) \(source)")
        #expect(
          [row.leads, row.converted, row.rejected, row.open]
            == [planted.created, planted.converted, planted.rejected, 0].map(Int64.init),
          "\(manager.planted.id) \(source)")
        let reasons = Dictionary(row.rejections.map { ($0.reason, Int($0.leads)) }, uniquingKeysWith: +)
        #expect(reasons == planted.rejections, "\(manager.planted.id) \(source)")
      }
    }
    #expect(reply.rows.filter { !$0.team }.count == rows)
  }

  struct LossKey: Hashable {
    var owner, line, stage, reason, kind: String
  }

  struct LossCount: Equatable {
    var deals: Int
    var amountMinor: Int64
  }

  /// Losses by stage × reason × kind of the last objection, per manager, with the stall share.
  func losses() async throws {
    let reply = try await reporting.getLosses(.init())
    let lines = Dictionary(uniqueKeysWithValues: pipelines.map { ($0.id, $0.businessLine) })
    var seen: [LossKey: LossCount] = [:]
    for row in reply.rows where !row.team {
      let kind: String =
        switch row.kind {
        case .real: "real"
        case .stall: "stall"
        default: "none"
        }
      let key = LossKey(
        owner: row.ownerID, line: lines[row.pipelineID] ?? row.pipelineID, stage: row.stageName, reason: row.reason,
        kind: kind)
      let amount: Int64 = row.amounts.filter { $0.currency == "RUB" }.map(\.minorUnits).reduce(0, +)
      seen[key] = LossCount(deals: Int(row.deals), amountMinor: amount)
    }
    var expected: [LossKey: LossCount] = [:]
    for manager in managers {
      for loss in manager.losses {
        let key = LossKey(
          owner: manager.planted.id, line: loss.line, stage: loss.stage, reason: loss.reason, kind: loss.kind)
        expected[key] = LossCount(deals: loss.deals, amountMinor: loss.amountMinor)
      }
    }
    #expect(seen == expected)
    let planted = managers.flatMap(\.losses)
    func count(_ kind: String) -> Int64 { Int64(planted.filter { $0.kind == kind }.reduce(0) { $0 + $1.deals }) }
    #expect([reply.lost, reply.real, reply.stall] == [sum { $0.deals.lost }, count("real"), count("stall")])
    #expect(reply.stall > 0 && reply.stall < reply.lost, "stalls: \(reply.stall) of \(reply.lost)")
  }

  /// Each manager's calibration is what his closed deals realised: won over the probabilities
  /// last stated on them, shrunk toward the team's (so between the two); the inflated manager's
  /// is below 1 and below the honest one's.
  func forecast() async throws {
    let reply = try await reporting.getForecast(.init())
    let team = try #require(reply.calibrations.first { $0.team })
    #expect(team.closed == sum(\.closedForecast.closed) && team.won == sum(\.closedForecast.won))
    for manager in managers {
      let id = manager.planted.id
      let planted = manager.closedForecast
      let row = try #require(reply.calibrations.first { !$0.team && $0.ownerID == id }, "\(id)")
      #expect(row.closed == planted.closed && row.won == planted.won, "\(id)")
      #expect(abs(row.promisedWins - Double(planted.statedPercent) / 100) < 1e-9, "\(id)")
      let raw = try #require(planted.coefficient, "\(id)")
      #expect(abs(row.rawCoefficient - raw) < 1e-9, "\(id): \(row.rawCoefficient) against \(raw)")
      let between = (min(raw, team.coefficient) - 1e-9)...(max(raw, team.coefficient) + 1e-9)
      #expect(between.contains(row.coefficient), "\(id): \(row.coefficient), own \(raw), team \(team.coefficient)")
    }
    let inflated = try #require(reply.calibrations.first { $0.ownerID == "m-inflated" })
    let honest = try #require(reply.calibrations.first { $0.ownerID == "m-steady" })
    #expect(inflated.coefficient < 1 && inflated.coefficient < honest.coefficient, "\(inflated) \(honest)")
  }

  /// The backtest has each month asked for (and the current one); each complete month forecasts
  /// the deals open at its start and expected by its end, and counts those of them won in it.
  func backtest(zone: TimeZone) async throws {
    let reply = try await reporting.getForecastBacktest(
      .with {
        $0.months = 2
        $0.currency = "RUB"
      })
    #expect(reply.timeZone == zone.identifier)
    #expect(reply.months.map(\.complete) == [true, true, false])
    for month in reply.months where month.complete {
      let expected = Expected.backtestMonth(plan, start: month.start.date, end: month.end.date, zone: zone)
      let team = month.rows.first { $0.team && $0.currency == "RUB" }
      let seen = Expected.BacktestMonth(
        forecastDeals: Int(team?.forecastDeals ?? 0), wonDeals: Int(team?.wonDeals ?? 0), wonMinor: team?.wonMinor ?? 0)
      #expect(seen == expected, "\(month.month)")
      // A month that starts well inside the history has deals to forecast.
      if month.start.date > truth.start.addingTimeInterval(10 * 86_400) {
        #expect(team != nil && expected.forecastDeals > 0, "\(month.month)")
      }
    }
  }

  /// Contact cards and deal fields as filled; the managers planted to fill only the mandatory
  /// fields have the lowest shares of the optional ones.
  func cardCompleteness() async throws {
    let reply = try await reporting.getCardCompleteness(.init())
    var shares: [(fills: Bool, share: Double)] = []
    for manager in managers {
      let id = manager.planted.id
      let row = try #require(reply.managers.first { !$0.team && $0.managerID == id }, "\(id)")
      let cards = manager.cards
      #expect(
        [row.contacts, row.contactFieldsFilled, row.contactFieldsTotal]
          == [cards.contacts, cards.optionalFilled, cards.optionalPossible].map(Int64.init), "\(id)")
      #expect(
        [row.deals, row.dealFieldsFilled] == [manager.dealFields.deals, manager.dealFields.filled].map(Int64.init),
        "\(id)")
      shares.append((manager.planted.fillsOptionalCardFields, row.contactShare))
    }
    let bare = shares.filter { !$0.fills }.map(\.share)
    let filled = shares.filter(\.fills).map(\.share)
    let highestBare = try #require(bare.max())
    let lowestFilled = try #require(filled.min())
    #expect(highestBare < lowestFilled, "bare \(bare), filled \(filled)")
  }

  /// Quality control's scores mapped back to each manager: every report reviewed, the mean what
  /// the reviewers gave his reports, and managers planted far apart in report quality in that
  /// order.
  func qualityScores() async throws {
    let reply = try await reporting.getQualityScores(.init())
    #expect(reply.reps.allSatisfy { $0.team || !$0.managerID.isEmpty }, "codes mapped to nobody")
    var means: [String: Double] = [:]
    for manager in managers {
      let id = manager.planted.id
      let row = try #require(reply.reps.first { !$0.team && $0.managerID == id }, "\(id)")
      let scores = Expected.reviewScores(plan, of: id)
      #expect(row.itemsReviewed == scores.count && row.reportsLogged == scores.count, "\(id)")
      let bounds = try #require(Expected.meanBounds(scores: scores, reviews: Int(row.reviews)), "\(id)")
      #expect(
        bounds.lowerBound - 0.01 <= row.meanScore && row.meanScore <= bounds.upperBound + 0.01,
        "\(id): \(row.meanScore) outside \(bounds)")
      means[id] = row.meanScore
    }
    for a in managers {
      for b in managers where a.planted.reportQuality >= b.planted.reportQuality + 0.2 {
        #expect(means[a.planted.id]! > means[b.planted.id]!, "\(a.planted.id) \(means) \(b.planted.id)")
      }
    }
  }

  /// Won amounts, deals and activities as realised, ranked by the won amount.
  func leaderboard() async throws {
    let board = try await reporting.getLeaderboard(.init())
    #expect(board.currency == "RUB")
    for manager in managers {
      let id = manager.planted.id
      let entry = try #require(board.entries.first { !$0.team && $0.managerID == id }, "\(id)")
      #expect(entry.wonAmount.value == Double(manager.wonMinor) && entry.wonDeals == manager.deals.won, "\(id)")
      #expect(entry.activities.value == Double(manager.activities), "\(id)")
      #expect(
        entry.conversionRate.successes == manager.deals.won
          && entry.conversionRate.trials == manager.deals.won + manager.deals.lost, "\(id)")
      let ahead = managers.filter { $0.wonMinor > manager.wonMinor && $0.deals.won + $0.deals.lost > 0 }
      #expect(entry.wonAmount.rank == Int32(1 + ahead.count), "\(id)")
    }
    let ranked = board.entries.filter { !$0.team }.map(\.wonAmount.value)
    #expect(ranked == ranked.sorted(by: >))
  }

  /// Each manager with deals open at the day's end has that day's end-of-day report: his open
  /// deals without a next-step task, and those with nothing done since they were opened; the
  /// manager who hardly sets next steps leaves more of his deals without one than the most
  /// diligent. The leaderboard ranks by the same violations per day.
  func discipline(day: EndOfDay, within limit: Duration) async throws {
    let reporters = managers.filter { $0.openDeals > 0 }
    let deadline = ContinuousClock.now + limit
    var reply = Crm_Reporting_V1_GetDisciplineReply()
    while true {
      reply = try await reporting.getDiscipline(.init())
      if reply.managers.filter({ !$0.team }).count >= reporters.count { break }
      guard ContinuousClock.now < deadline else {
        Issue.record("end-of-day reports of \(reporters.count) managers expected by \(day.at) + 1 min: \(reply)")
        return
      }
      try await Task.sleep(for: .seconds(1))
    }
    var shares: [String: Double] = [:]
    for manager in reporters {
      let id = manager.planted.id
      let row = try #require(reply.managers.first { !$0.team && $0.managerID == id }, "\(id)")
      let counts = row.counts
      #expect(counts.days == 1 && row.weeks.count == 1, "\(id): \(row)")
      #expect(
        [counts.unprocessedDeals, counts.dealsWithoutOpenTask, counts.dealsWithOverdueTask]
          == [manager.openDealsUnprocessed, manager.openDealsWithoutTask, 0].map(Int64.init), "\(id)")
      shares[id] = Double(counts.dealsWithoutOpenTask) / Double(manager.openDeals)
    }
    #expect(shares["m-weak"]! > shares["m-steady"]!, "\(shares)")
    let board = try await reporting.getLeaderboard(.init())
    for manager in reporters {
      let entry = try #require(board.entries.first { $0.managerID == manager.planted.id })
      #expect(
        entry.discipline.value == Double(manager.openDealsUnprocessed + manager.openDealsWithoutTask),
        "\(manager.planted.id)")
    }
  }
}
