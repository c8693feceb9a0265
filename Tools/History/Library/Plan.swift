import Foundation

/// The history to write, decided in full before any call: every lead, contact, deal step,
/// activity and offer with its time. The same options give the same plan on every machine.
public struct HistoryPlan: Sendable {
  public var options: HistoryOptions
  public var start: Date
  public var leads: [PlannedLead]
  public var deals: [PlannedDeal]
}

/// What the generator is asked for.
public struct HistoryOptions: Sendable {
  public var seed: UInt64
  /// Months of history before `end`.
  public var months: Int
  /// About how many deals (split over the managers and the two business lines).
  public var deals: Int
  /// Where the history ends: a fixed instant (by default the start of the current UTC day), so
  /// that a re-run plans the same times and its requests repeat the first ones exactly.
  public var end: Date

  public init(seed: UInt64, months: Int = 6, deals: Int = 600, end: Date = HistoryOptions.startOfToday()) {
    self.seed = seed
    self.months = months
    self.deals = deals
    self.end = end
  }

  public static func startOfToday(_ now: Date = Date()) -> Date {
    Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
  }
}

public struct PlannedLead: Sendable {
  public enum Outcome: Sendable {
    case converted(at: Date, companyName: String)
    case rejected(at: Date, reason: String)
  }

  public var index: Int
  public var managerID: String
  public var name: String
  public var phone: String
  public var source: String
  public var createdAt: Date
  public var outcome: Outcome
  /// The deal its conversion opens (an index into `HistoryPlan.deals`).
  public var dealIndex: Int?
}

/// A contact a manager creates himself for an outbound deal; the optional fields are filled by
/// the managers who fill cards.
public struct PlannedContact: Sendable {
  public var name: String
  public var phone: String
  public var email: String
  public var position: String
  public var address: String
  public var birthday: (year: Int32, month: Int32, day: Int32)?
  public var notes: String
  public var createdAt: Date

  /// The optional card fields it has filled, of `optionalFieldCount`.
  public var filledOptionalFields: Int {
    [!email.isEmpty, !position.isEmpty, !address.isEmpty, birthday != nil, !notes.isEmpty].filter { $0 }.count
  }
  public static let optionalFieldCount = 5
}

public struct PlannedDeal: Sendable {
  public enum Origin: Sendable {
    /// Opened by the deals service when the lead is converted (consultative).
    case lead(index: Int)
    /// Opened by the operator on a contact created for it (active).
    case direct(contact: PlannedContact, openedAt: Date, amountMinor: Int64, source: String)
  }

  public var index: Int
  public var managerID: String
  public var line: Catalogue.Line
  public var origin: Origin
  /// The day the owner expects it to close, given when he opens it (only outbound deals are
  /// opened by the owner; a converted lead's deal is opened by the deals service, without one).
  public var expectedClose: (year: Int32, month: Int32, day: Int32)?
  /// One call each, in order: step k is made at the deal's version k + 1.
  public var steps: [DealStep]
  /// Still open when the history ends, it has a next-step task set (by its owner, after the
  /// steps): its end-of-day report does not count it without an open task.
  public var nextStepTask = false

  /// Won or lost by its steps.
  public var closes: Bool {
    steps.contains {
      switch $0.action {
      case .win, .lose: true
      default: false
      }
    }
  }
}

public struct DealStep: Sendable {
  public enum Action: Sendable {
    case changeAmount(minorUnits: Int64)
    case move(toStage: Int, skipped: [Int])
    case objection(real: Bool, reason: String, conditions: String)
    case estimate(probability: Int32)
    case win
    case lose(reason: String)
  }

  public var at: Date
  public var action: Action
  /// Logged by the owner before the step, with their own times.
  public var activities: [PlannedActivity]
  /// An offer made before the step and answered: accepted when the step moves the deal on.
  public var offer: PlannedOffer?
}

public struct PlannedActivity: Sendable {
  public var meeting: Bool
  public var at: Date
  public var text: String
  public var context: [String: String]
}

public struct PlannedOffer: Sendable {
  public var variant: String
  public var amountMinor: Int64
  public var accepted: Bool
  public var declineReason: String
}
