import Foundation

/// What a plan planted, per manager, for tests of the reports to recover: the planted rates
/// (what the managers are) and the realised counts (what the plan made of them, exactly).
public struct PlantedTruth: Codable, Sendable {
  public struct DealCounts: Codable, Sendable, Equatable {
    public var opened = 0
    public var won = 0
    public var lost = 0
    public var open = 0
  }

  public struct StageCounts: Codable, Sendable, Equatable {
    public var stage: String
    public var entered = 0
    public var advanced = 0
    public var skipped = 0
    public var lost = 0
    public var won = 0
    /// Still there when the history ends.
    public var open = 0
    /// advanced / entered (won / entered at the last stage); nil when none entered.
    public var conversion: Double?
  }

  public struct LeadCounts: Codable, Sendable, Equatable {
    public var created = 0
    public var converted = 0
    public var rejected = 0
    /// Rejected leads by reason.
    public var rejections: [String: Int] = [:]
  }

  /// The owner's estimates on deals since closed: what they promised (Σ stated probability)
  /// against what came of them (each estimate counts its deal's outcome). An honest manager's
  /// estimates are the true chances, so the coefficient won / promised is about 1 / optimism.
  /// (The probability a deal stood at when closed is no such measure: deals that went far were
  /// estimated again, higher, those lost early were not.)
  public struct Calibration: Codable, Sendable, Equatable {
    public var estimates = 0
    /// Estimates on deals that were won.
    public var won = 0
    public var statedWins = 0.0
    /// won / statedWins: below 1 for an optimist; nil without estimates on closed deals.
    public var coefficient: Double?
  }

  public struct Manager: Codable, Sendable {
    public var planted: Catalogue.Manager
    public var deals = DealCounts()
    public var dealsByLine: [String: DealCounts] = [:]
    /// Per business line, in stage order.
    public var stages: [String: [StageCounts]] = [:]
    public var leads = LeadCounts()
    public var leadsBySource: [String: LeadCounts] = [:]
    public var calibration = Calibration()
    public var contactsCreated = 0
    public var optionalCardFieldsFilled = 0
    public var optionalCardFieldsPossible = 0
    public var activities = 0
    /// The mean weighted score (0 to 100) quality control gives his reports when scored by
    /// `ReportScoring` (every report is a meeting or a call).
    public var expectedReviewScore: Double?
    public var offersAccepted = 0
    public var offersDeclined = 0
    /// Σ amount of his won and of his lost deals (RUB minor units, as each stood when closed).
    public var wonMinor: Int64 = 0
    public var lostMinor: Int64 = 0
    /// His closed deals as a forecast's calibration reads them (`ClosedForecast`).
    public var closedForecast = ClosedForecast()
    /// His lost deals by line, stage, reason and kind of the deal's last objection.
    public var losses: [Loss] = []
    /// His contact cards: made for his outbound deals and by converting his leads.
    public var cards = Cards()
    /// His deals and how many of their optional fields stand filled when the history ends: the
    /// expected close date and his own estimate (a move clears it: the stage's default applies).
    public var dealFields = DealFields()
    /// His deals open when the history ends; of them, those without a next-step task, and those
    /// with neither a task nor any activity logged (what his end-of-day report finds, the
    /// history's tasks being due later).
    public var openDeals = 0
    public var openDealsWithoutTask = 0
    public var openDealsUnprocessed = 0
  }

  public var seed: UInt64
  public var months: Int
  public var start: Date
  public var end: Date
  public var pipelines: [Catalogue.Line]
  public var managers: [Manager]

  public init(_ plan: HistoryPlan) {
    seed = plan.options.seed
    months = plan.options.months
    start = plan.start
    end = plan.options.end
    pipelines = Catalogue.lines
    var byID = Dictionary(
      uniqueKeysWithValues: Catalogue.managers.map { manager in
        var truth = Manager(planted: manager)
        for line in Catalogue.lines {
          truth.stages[line.businessLine] = line.stages.map { StageCounts(stage: $0) }
          truth.dealsByLine[line.businessLine] = DealCounts()
        }
        return (manager.id, truth)
      })
    for lead in plan.leads {
      var counts = byID[lead.managerID]!.leadsBySource[lead.source] ?? LeadCounts()
      counts.created += 1
      switch lead.outcome {
      case .converted(_, let companyName):
        counts.converted += 1
        byID[lead.managerID]!.cards.add(convertedLeadWithCompany: !companyName.isEmpty)
      case .rejected(_, let reason):
        counts.rejected += 1
        counts.rejections[reason, default: 0] += 1
      }
      byID[lead.managerID]!.leadsBySource[lead.source] = counts
    }
    var reviewScores: [String: Double] = [:]
    for deal in plan.deals {
      Self.count(deal, into: &byID[deal.managerID]!)
      for activity in deal.steps.flatMap(\.activities) {
        reviewScores[deal.managerID, default: 0] += ReportScoring.weightedScore(of: activity.text)
      }
    }
    managers = Catalogue.managers.map { manager in
      var truth = byID[manager.id]!
      truth.leads = truth.leadsBySource.values.reduce(into: LeadCounts()) {
        $0.created += $1.created
        $0.converted += $1.converted
        $0.rejected += $1.rejected
        $0.rejections.merge($1.rejections, uniquingKeysWith: +)
      }
      truth.deals = truth.dealsByLine.values.reduce(into: DealCounts()) {
        $0.opened += $1.opened
        $0.won += $1.won
        $0.lost += $1.lost
        $0.open += $1.open
      }
      for (line, stages) in truth.stages {
        truth.stages[line] = stages.enumerated().map { index, counts in
          var counts = counts
          let out = index == stages.count - 1 ? counts.won : counts.advanced
          counts.open = counts.entered - counts.advanced - counts.lost - counts.won
          counts.conversion = counts.entered > 0 ? Double(out) / Double(counts.entered) : nil
          return counts
        }
      }
      truth.expectedReviewScore =
        truth.activities > 0 ? reviewScores[manager.id, default: 0] / Double(truth.activities) : nil
      let calibration = truth.calibration
      truth.calibration.coefficient =
        calibration.statedWins > 0 ? Double(calibration.won) / calibration.statedWins : nil
      truth.closedForecast.finish()
      truth.losses.sort { ($0.line, $0.stage, $0.reason, $0.kind) < ($1.line, $1.stage, $1.reason, $1.kind) }
      return truth
    }
  }

  static func count(_ deal: PlannedDeal, into truth: inout Manager) {
    let line = deal.line.businessLine
    var stages = truth.stages[line]!
    var counts = truth.dealsByLine[line]!
    counts.opened += 1
    if case .direct(let contact, _, _, _) = deal.origin {
      truth.contactsCreated += 1
      truth.optionalCardFieldsFilled += contact.filledOptionalFields
      truth.optionalCardFieldsPossible += PlannedContact.optionalFieldCount
      truth.cards.add(contact)
    }
    countForReports(deal, into: &truth)
    var stage = 0
    var estimates: [Int32] = []
    stages[0].entered += 1
    var won: Bool?
    for step in deal.steps {
      truth.activities += step.activities.count
      if let offer = step.offer {
        if offer.accepted { truth.offersAccepted += 1 } else { truth.offersDeclined += 1 }
      }
      switch step.action {
      case .move(let target, let skipped):
        stages[stage].advanced += 1
        for index in skipped { stages[index].skipped += 1 }
        stages[target].entered += 1
        stage = target
      case .estimate(let stated):
        estimates.append(stated)
      case .win:
        stages[stage].won += 1
        counts.won += 1
        won = true
      case .lose:
        stages[stage].lost += 1
        counts.lost += 1
        won = false
      case .changeAmount, .objection:
        break
      }
    }
    if let won {
      truth.calibration.estimates += estimates.count
      truth.calibration.statedWins += estimates.reduce(0) { $0 + Double($1) / 100 }
      if won { truth.calibration.won += estimates.count }
    } else {
      counts.open += 1
    }
    truth.stages[line] = stages
    truth.dealsByLine[line] = counts
  }

  /// The truth as JSON (sorted keys, ISO 8601 dates): the file `--truth` writes.
  public func json() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    encoder.dateEncodingStrategy = .iso8601
    encoder.keyEncodingStrategy = .convertToSnakeCase
    return try encoder.encode(self)
  }
}
