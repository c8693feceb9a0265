/// The realised figures the sales reports are to recover, counted from the plan the way each
/// report counts them (losses, calibration of closed deals, card and deal fields, won amounts).
extension PlantedTruth {
  /// Closed deals as a forecast's calibration reads them: per deal the last probability that
  /// stood while it was open — the owner's estimate made since its last move, else the default
  /// of the stage it stood at (a move resets it) — and whether it was won.
  public struct ClosedForecast: Codable, Sendable, Equatable {
    public var closed = 0
    public var won = 0
    /// Σ of those probabilities, in percent: 100 × the wins they promised.
    public var statedPercent = 0
    /// won / promised: below 1 when the probabilities promised more than came; nil without any.
    public var coefficient: Double?

    mutating func finish() {
      coefficient = statedPercent > 0 ? Double(won) / (Double(statedPercent) / 100) : nil
    }
  }

  /// Lost deals of one line, stage (by name), reason and kind of the deal's last objection.
  public struct Loss: Codable, Sendable, Equatable {
    public var line: String
    public var stage: String
    public var reason: String
    /// "real", "stall" or "none" (no objection was raised on the deal).
    public var kind: String
    public var deals = 0
    public var amountMinor: Int64 = 0
  }

  /// Contact cards and their optional fields as the contacts service's card has them: phones,
  /// e-mails, position, address, birthday, notes, tags and companies (the history gives no tags).
  public struct Cards: Codable, Sendable, Equatable {
    public static let optionalFields = 8

    public var contacts = 0
    public var optionalFilled = 0
    public var optionalPossible = 0

    /// A card made for an outbound deal: its phone and what the manager filled.
    mutating func add(_ contact: PlannedContact) {
      contacts += 1
      optionalFilled += 1 + contact.filledOptionalFields
      optionalPossible += Self.optionalFields
    }

    /// A card made by converting a lead: its phone, and its company when the conversion named one.
    mutating func add(convertedLeadWithCompany company: Bool) {
      contacts += 1
      optionalFilled += company ? 2 : 1
      optionalPossible += Self.optionalFields
    }
  }

  /// Deals and their optional fields filled (expected close date, the owner's own estimate).
  public struct DealFields: Codable, Sendable, Equatable {
    public static let optionalFields = 2

    public var deals = 0
    public var filled = 0
  }

  /// The figures of `deal` the reports count, added to its manager's.
  static func countForReports(_ deal: PlannedDeal, into truth: inout Manager) {
    let line = deal.line
    var stage = 0
    var probability = Int(line.defaultProbabilities[0])
    var ownerEstimated = false
    var amount: Int64 = 0
    var lastObjection = "none"
    if case .direct(_, _, let opening, _) = deal.origin { amount = opening }
    var closed: Bool?
    for step in deal.steps {
      switch step.action {
      case .changeAmount(let minorUnits):
        amount = minorUnits
      case .move(let target, _):
        stage = target
        probability = Int(line.defaultProbabilities[target])
        ownerEstimated = false
      case .estimate(let stated):
        probability = Int(stated)
        ownerEstimated = true
      case .objection(let real, _, _):
        lastObjection = real ? "real" : "stall"
      case .win:
        truth.wonMinor += amount
        closed = true
      case .lose(let reason):
        truth.lostMinor += amount
        closed = false
        let loss = Loss(line: line.businessLine, stage: line.stages[stage], reason: reason, kind: lastObjection)
        let known = truth.losses.firstIndex {
          ($0.line, $0.stage, $0.reason, $0.kind) == (loss.line, loss.stage, loss.reason, loss.kind)
        }
        if known == nil { truth.losses.append(loss) }
        let at = known ?? truth.losses.count - 1
        truth.losses[at].deals += 1
        truth.losses[at].amountMinor += amount
      }
    }
    if let won = closed {
      truth.closedForecast.closed += 1
      truth.closedForecast.won += won ? 1 : 0
      truth.closedForecast.statedPercent += probability
    } else {
      truth.openDeals += 1
      if !deal.nextStepTask {
        truth.openDealsWithoutTask += 1
        if deal.steps.allSatisfy({ $0.activities.isEmpty }) { truth.openDealsUnprocessed += 1 }
      }
    }
    truth.dealFields.deals += 1
    truth.dealFields.filled += (deal.expectedClose == nil ? 0 : 1) + (ownerEstimated ? 1 : 0)
  }
}
