import CRMDomain
import Foundation

/// One version of a deal as reporting recorded it: in force from `validFrom` until the next one.
struct DealVersion: Sendable, Equatable {
  enum Status: String, Sendable, Equatable {
    case open, won, lost
  }

  var validFrom: Date
  var status: Status
  /// 0–100: the owner's estimate where given, else the stage's default.
  var probability: Int
  var amountMinor: Int64
  var currency: String
  var owner: String
  /// The start of the expected closing day, in the time zone the months are cut in; nil if none.
  var expectedClose: Date?
}

/// A deal's versions, oldest first.
struct DealHistory: Sendable, Equatable {
  var dealID: String
  var versions: [DealVersion]

  /// The index of the version in force just before `instant` (the last with validFrom < instant):
  /// what was known when a forecast was made at `instant`. nil when the deal did not exist yet.
  func indexBefore(_ instant: Date) -> Int? {
    var low = 0
    var high = versions.count
    while low < high {
      let middle = (low + high) / 2
      if versions[middle].validFrom < instant { low = middle + 1 } else { high = middle }
    }
    return low > 0 ? low - 1 : nil
  }

  /// When the version at `index` is closed: its outcome, with the probability and owner of the
  /// last open version before it (the estimate stated while the deal was open). nil when that
  /// version is open, or the deal was never open before it (nothing was stated).
  func outcome(at index: Int) -> ClosedDealOutcome? {
    let closing = versions[index]
    guard closing.status != .open,
      let stated = versions[...index].last(where: { $0.status == .open })
    else { return nil }
    return ClosedDealOutcome(owner: stated.owner, probability: stated.probability, won: closing.status == .won)
  }

  /// Refuses a history a backtest could not read: no versions, versions out of time order, or a
  /// version with an impossible figure; names the field.
  func checked(_ field: String) throws(InvalidField) -> DealHistory {
    if versions.isEmpty { throw InvalidField(field: "\(field).versions", reason: "is empty") }
    for (i, version) in versions.enumerated() {
      let at = "\(field).versions[\(i)]"
      if i > 0, version.validFrom < versions[i - 1].validFrom {
        throw InvalidField(field: "\(at).validFrom", reason: "is before the previous version's")
      }
      guard (0...100).contains(version.probability) else {
        throw InvalidField(field: "\(at).probability", reason: "is \(version.probability); must be within 0…100")
      }
      guard version.amountMinor >= 0 else {
        throw InvalidField(field: "\(at).amountMinor", reason: "is negative (\(version.amountMinor))")
      }
      if version.owner.isEmpty { throw InvalidField(field: "\(at).owner", reason: "is empty") }
      if version.currency.isEmpty { throw InvalidField(field: "\(at).currency", reason: "is empty") }
    }
    return self
  }
}
