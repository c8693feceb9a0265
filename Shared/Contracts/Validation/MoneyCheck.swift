import CRMDomain
import Foundation

extension Crm_Common_V1_Money {
  /// Ten trillion in major units: far above any deal or offer, far below where sums of amounts overflow.
  public static let maximumMinorUnits: Int64 = 1_000_000_000_000_000

  /// This amount checked as it came from the wire: non-negative minor units up to
  /// `maximumMinorUnits`, of an ISO 4217 currency (returned upper-case). Failures name `field`.
  public func checked(_ field: String) throws(InvalidField) -> Crm_Common_V1_Money {
    try requireKnownFields(field)
    guard minorUnits >= 0 else {
      throw InvalidField(field: "\(field).minor_units", reason: "is \(minorUnits); amounts are not negative")
    }
    guard minorUnits <= Self.maximumMinorUnits else {
      throw InvalidField(field: "\(field).minor_units", reason: "is \(minorUnits); at most \(Self.maximumMinorUnits)")
    }
    let code = currency.trimmingCharacters(in: .whitespaces).uppercased()
    guard code.count == 3, Locale.commonISOCurrencyCodes.contains(code) else {
      throw InvalidField(
        field: "\(field).currency", reason: "\(Text.quoted(currency)) is not an ISO 4217 currency code")
    }
    return .with {
      $0.minorUnits = minorUnits
      $0.currency = code
    }
  }
}
