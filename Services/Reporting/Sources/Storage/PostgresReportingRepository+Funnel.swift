import CRMContracts
import CRMDatabase
import Foundation
import PostgresNIO

/// The funnel per stage × manager, with the team row: from the funnel cells when the period is
/// whole UTC months (or open) and the pipeline saw many visits in it; from the stage visits
/// otherwise (a period that cuts a month, or a small pipeline: exact, median too).
extension PostgresReportingRepository {
  /// One row's figures before they become a reply row.
  struct FunnelFigures: Sendable, Equatable {
    var stage: String
    var owner: String
    var team: Bool
    var entered = 0
    var advanced = 0
    var lost = 0
    var won = 0
    var open = 0
    var skipped = 0
    /// Non-skipped visits whose deal is won, and whose deal is closed.
    var wonLater = 0
    var closed = 0
    var left = 0
    var median = 0.0
  }

  func funnel(_ query: FunnelQuery) async throws -> Crm_Reporting_V1_GetFunnelReply {
    guard let stages = try await stages(of: query.pipelineID) else {
      throw UnknownPipeline(pipelineID: query.pipelineID)
    }
    var figures = try await funnelFigures(query)
    // The owner filter and the caller's visibility thin the managers' rows only.
    figures.removeAll {
      !$0.team && !query.visibility.shows($0.owner, filter: query.ownerID)
    }
    return Self.funnelReply(query.pipelineID, stages: stages, figures)
  }

  /// From the cells when the period is whole months and the pipeline saw more than
  /// `funnelExactVisits` visits in it (all kinds and sources: what the visits query would read);
  /// from the visits otherwise.
  func funnelFigures(_ query: FunnelQuery) async throws -> [FunnelFigures] {
    guard let months = WholeMonths(query.period) else { return try await funnelFromVisits(query) }
    let (cells, sliceVisits) = try await funnelFromCells(query, months)
    let unfiltered = query.kind == nil && query.source == nil
    // A slice's visits are some of the pipeline's: past the bound already, the pipeline is too.
    let visits =
      unfiltered || sliceVisits > funnelExactVisits
      ? sliceVisits : try await funnelVisits(query.pipelineID, months)
    return visits > funnelExactVisits ? cells : try await funnelFromVisits(query)
  }

  /// Exact, from the visits. Team rows (GROUPING SETS' (stage)) cover every manager.
  func funnelFromVisits(_ query: FunnelQuery) async throws -> [FunnelFigures] {
    let rows = try await client.query(
      """
      SELECT s.stage_id, coalesce(s.owner_id, ''), GROUPING(s.owner_id) = 1,
        count(*) FILTER (WHERE s.outcome <> 'skipped'),
        count(*) FILTER (WHERE s.outcome = 'advanced'),
        count(*) FILTER (WHERE s.outcome = 'lost'),
        count(*) FILTER (WHERE s.outcome = 'won'),
        count(*) FILTER (WHERE s.outcome = 'open'),
        count(*) FILTER (WHERE s.outcome = 'skipped'),
        count(*) FILTER (WHERE s.outcome <> 'skipped' AND d.status = 'won'),
        count(*) FILTER (WHERE s.outcome <> 'skipped' AND d.status <> 'open'),
        count(*) FILTER (WHERE s.outcome IN ('advanced', 'lost', 'won')),
        coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM s.left_at - s.entered_at)::double precision)
          FILTER (WHERE s.outcome IN ('advanced', 'lost', 'won')), 0)
      FROM stage_visits s JOIN deals d ON d.id = s.deal_id
      WHERE s.pipeline_id = \(query.pipelineID)
        AND (\(query.period.from)::timestamptz IS NULL OR s.entered_at >= \(query.period.from)::timestamptz)
        AND (\(query.period.to)::timestamptz IS NULL OR s.entered_at < \(query.period.to)::timestamptz)
        AND (\(query.kind)::text IS NULL OR s.kind = \(query.kind)::text)
        AND (\(query.source)::text IS NULL OR s.source = \(query.source)::text)
      GROUP BY GROUPING SETS ((s.stage_id, s.owner_id), (s.stage_id))
      """, logger: logger)
    var figures: [FunnelFigures] = []
    for try await (stage, owner, team, entered, advanced, lost, won, open, skipped, wonLater, closed, left, median)
      in rows.decode(
        (String, String, Bool, Int, Int, Int, Int, Int, Int, Int, Int, Int, Double).self)
    {
      figures.append(
        FunnelFigures(
          stage: stage, owner: owner, team: team, entered: entered, advanced: advanced, lost: lost, won: won,
          open: open, skipped: skipped, wonLater: wonLater, closed: closed, left: left, median: median))
    }
    return figures
  }

  /// From the cells of the request's slice (kind, source) and months, with the slice's visits;
  /// team rows summed here, the medians from the summed histograms.
  func funnelFromCells(_ query: FunnelQuery, _ months: WholeMonths) async throws -> ([FunnelFigures], visits: Int) {
    let sums = DealAggregates.funnelCounts.map { "sum(\($0))::bigint" }.joined(separator: ", ")
    let histogram = StayHistogram.columns.map { "sum(\($0))" }.joined(separator: ", ")
    var binds = PostgresBindings()
    binds.append(query.pipelineID)
    binds.append(query.kind ?? "")
    binds.append(query.source == nil)
    binds.append(query.source ?? "")
    if let from = months.from { binds.append(from) } else { binds.appendNull() }
    if let to = months.to { binds.append(to) } else { binds.appendNull() }
    let rows = try await client.query(
      PostgresQuery(
        unsafeSQL: """
          SELECT stage_id, owner_id, \(sums), ARRAY[\(histogram)]::bigint[]
          FROM funnel_cells
          WHERE pipeline_id = $1 AND kind = $2 AND every_source = $3 AND source = $4
            AND \(WholeMonths.filter(from: "$5", to: "$6"))
          GROUP BY stage_id, owner_id HAVING sum(visits) > 0
          """, binds: binds), logger: logger)
    var owners: [FunnelFigures] = []
    var visits = 0
    var teams: [String: (FunnelFigures, StayHistogram)] = [:]
    for try await (stage, owner, slice, entered, advanced, lost, won, open, skipped, wonLater, closed, left, counts)
      in rows.decode((String, String, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, StayCounts).self)
    {
      let stays = StayHistogram(counts: counts.counts)
      visits += slice
      let row = FunnelFigures(
        stage: stage, owner: owner, team: false, entered: entered, advanced: advanced, lost: lost, won: won, open: open,
        skipped: skipped, wonLater: wonLater, closed: closed, left: left, median: stays.median)
      owners.append(row)
      var (team, teamStays) = teams[stage] ?? (FunnelFigures(stage: stage, owner: "", team: true), StayHistogram())
      team.entered += entered
      team.advanced += advanced
      team.lost += lost
      team.won += won
      team.open += open
      team.skipped += skipped
      team.wonLater += wonLater
      team.closed += closed
      team.left += left
      teamStays.add(stays)
      teams[stage] = (team, teamStays)
    }
    let teamRows = teams.values.map { team, stays in
      var team = team
      team.median = stays.median
      return team
    }
    return (owners + teamRows, visits)
  }

  /// The visits of a pipeline in whole months, all kinds and sources.
  func funnelVisits(_ pipelineID: String, _ months: WholeMonths) async throws -> Int {
    var binds = PostgresBindings()
    binds.append(pipelineID)
    if let from = months.from { binds.append(from) } else { binds.appendNull() }
    if let to = months.to { binds.append(to) } else { binds.appendNull() }
    let rows = try await client.query(
      PostgresQuery(
        unsafeSQL: """
          SELECT coalesce(sum(visits), 0)::bigint FROM funnel_cells
          WHERE pipeline_id = $1 AND kind = '' AND every_source AND source = ''
            AND \(WholeMonths.filter(from: "$2", to: "$3"))
          """, binds: binds), logger: logger)
    return try await rows.decode(Int.self).first { _ in true } ?? 0
  }

  static func funnelReply(
    _ pipelineID: String, stages: [(id: String, name: String, position: Int32)], _ figures: [FunnelFigures]
  )
    -> Crm_Reporting_V1_GetFunnelReply
  {
    var byStage: [String: [Crm_Reporting_V1_GetFunnelReply.Row]] = [:]
    for row in figures {
      byStage[row.stage, default: []].append(
        .with {
          $0.stageID = row.stage
          $0.ownerID = row.owner
          $0.team = row.team
          $0.entered = Int64(row.entered)
          $0.advanced = Int64(row.advanced)
          $0.lost = Int64(row.lost)
          $0.won = Int64(row.won)
          $0.open = Int64(row.open)
          $0.skipped = Int64(row.skipped)
          $0.conversionToNext = WilsonInterval(successes: row.advanced, trials: row.entered - row.open).rate
          $0.conversionToWon = WilsonInterval(successes: row.wonLater, trials: row.closed).rate
          $0.leftStays = Int64(row.left)
          $0.medianSecondsInStage = row.median
        })
    }
    // Every stage of the pipeline in order, with its team row even when nobody stood there;
    // then stages the visits name that the pipeline no longer lists.
    var ordered = stages
    for stage in byStage.keys.sorted() where !stages.contains(where: { $0.id == stage }) {
      ordered.append((stage, "", 0))
    }
    var reply = Crm_Reporting_V1_GetFunnelReply()
    reply.pipelineID = pipelineID
    for stage in ordered {
      var rows = byStage[stage.id] ?? []
      if !rows.contains(where: \.team) {
        rows.append(
          .with {
            $0.stageID = stage.id
            $0.team = true
            $0.conversionToNext = WilsonInterval(successes: 0, trials: 0).rate
            $0.conversionToWon = WilsonInterval(successes: 0, trials: 0).rate
          })
      }
      rows.sort { ($0.team ? 0 : 1, $0.ownerID) < ($1.team ? 0 : 1, $1.ownerID) }
      for var row in rows {
        row.stageName = stage.name
        row.position = stage.position
        reply.rows.append(row)
      }
    }
    return reply
  }
}

/// A funnel period as whole UTC months of entry (the cells' months), or nil when an end falls
/// inside a month.
struct WholeMonths: Equatable, Sendable {
  var from: Date?
  var to: Date?

  init?(_ period: ReportPeriod) {
    guard period.from.map(Self.isMonthStart) ?? true, period.to.map(Self.isMonthStart) ?? true else { return nil }
    from = period.from
    to = period.to
  }

  /// The cells' months condition on parameters `from` and `to` (timestamptz, either null): all
  /// time reads the every-month rows (-infinity), any other period the months in it.
  static func filter(from: String, to: String) -> String {
    """
    CASE WHEN \(from)::timestamptz IS NULL AND \(to)::timestamptz IS NULL THEN month = '-infinity'
      ELSE month > '-infinity' AND (\(from)::timestamptz IS NULL OR month >= (\(from)::timestamptz AT TIME ZONE 'UTC')::date)
        AND (\(to)::timestamptz IS NULL OR month < (\(to)::timestamptz AT TIME ZONE 'UTC')::date) END
    """
  }

  static func isMonthStart(_ date: Date) -> Bool { Calendar.utc.dateInterval(of: .month, for: date)?.start == date }
}
