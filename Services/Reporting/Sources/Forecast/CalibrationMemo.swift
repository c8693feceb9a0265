import CRMDomain
import Synchronization

/// The fits of the latest inputs, remembered: every forecast fits the managers' closed records,
/// which change only when a deal closes, and a fit is about a thousand incomplete-beta evaluations
/// (1–2 ms, a visible share of a forecast call). A fit depends on its input alone, so a
/// remembered one is the one a new fit would give.
enum CalibrationMemo {
  private struct Key: Hashable {
    var records: [CalibrationRecord]
    var settings: CalibrationSettings
  }

  /// A handful of inputs at once (per pipeline, and all): more and it starts again.
  static let limit = 64
  private static let fits = Mutex<[Key: Calibration]>([:])

  static func fit(_ records: [CalibrationRecord], settings: CalibrationSettings = CalibrationSettings())
    throws(InvalidField) -> Calibration
  {
    let key = Key(records: records, settings: settings)
    if let known = fits.withLock({ $0[key] }) { return known }
    let fitted = try Calibration.fit(records, settings: settings)
    fits.withLock {
      if $0.count >= limit { $0.removeAll() }
      $0[key] = fitted
    }
    return fitted
  }
}
