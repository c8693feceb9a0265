import CRMDomain

/// One closed deal as calibration sees it: who stated the probability, the last probability he
/// stated while the deal was open (0–100: the owner's estimate where given, else the stage's
/// default), and whether it was won.
struct ClosedDealOutcome: Sendable, Equatable {
  var owner: String
  var probability: Int
  var won: Bool
}

/// One manager's closed deals, summed: all that calibration needs, so a query may hand it
/// `count(*)`, `count(*) FILTER (WHERE won)` and `sum(probability)` per owner instead of the deals.
struct CalibrationRecord: Sendable, Hashable {
  var owner: String
  var closed: Int
  var won: Int
  /// Σ stated probability in percent over the closed deals: 100 × the wins they promised.
  var statedPercent: Int64

  init(owner: String, closed: Int, won: Int, statedPercent: Int64) {
    self.owner = owner
    self.closed = closed
    self.won = won
    self.statedPercent = statedPercent
  }

  /// Wins the stated probabilities promised: Σ p.
  var promisedWins: Double { Double(statedPercent) / 100 }

  /// The mean stated probability as a fraction (0 without closed deals).
  var meanStated: Double { closed > 0 ? promisedWins / Double(closed) : 0 }

  /// More closed deals than one manager can have: a bound that keeps every sum far from overflow.
  static let closedLimit = 1_000_000_000

  /// Checks a record from a query: counts in range and a sum a set of 0–100 probabilities can have.
  func checked(_ field: String) throws(InvalidField) -> CalibrationRecord {
    if owner.isEmpty { throw InvalidField(field: "\(field).owner", reason: "is empty") }
    guard (0...Self.closedLimit).contains(closed) else {
      throw InvalidField(field: "\(field).closed", reason: "is \(closed); must be within 0…\(Self.closedLimit)")
    }
    guard (0...closed).contains(won) else {
      throw InvalidField(field: "\(field).won", reason: "is \(won); must be within 0…\(closed) (the closed deals)")
    }
    guard statedPercent >= 0, statedPercent <= 100 * Int64(closed) else {
      throw InvalidField(
        field: "\(field).statedPercent", reason: "is \(statedPercent); must be within 0…\(100 * Int64(closed))")
    }
    return self
  }

  /// Sums deals per owner, in the order owners first appear; refuses a probability outside 0…100.
  static func of(_ deals: [ClosedDealOutcome]) throws(InvalidField) -> [CalibrationRecord] {
    var index: [String: Int] = [:]
    var records: [CalibrationRecord] = []
    for (i, deal) in deals.enumerated() {
      guard (0...100).contains(deal.probability) else {
        throw InvalidField(field: "deals[\(i)].probability", reason: "is \(deal.probability); must be within 0…100")
      }
      if deal.owner.isEmpty { throw InvalidField(field: "deals[\(i)].owner", reason: "is empty") }
      let at =
        index[deal.owner]
        ?? {
          records.append(CalibrationRecord(owner: deal.owner, closed: 0, won: 0, statedPercent: 0))
          index[deal.owner] = records.count - 1
          return records.count - 1
        }()
      records[at].closed += 1
      records[at].won += deal.won ? 1 : 0
      records[at].statedPercent += Int64(deal.probability)
    }
    return records
  }
}
