import CRMRuntime
import Foundation

/// The forecast's clock, read from the environment at startup: `CRM_COMPANY_TIME_ZONE` (the
/// setting activity reads for its end-of-day reports) cuts the backtest's months and makes a
/// deal's expected close date an instant, the start of that day. Default UTC: reporting alone
/// does not assume a company's country.
public struct ForecastSettings: Sendable, Equatable {
  var zoneName = "UTC"
  var zone = TimeZone(identifier: "UTC")!

  public static let `default` = ForecastSettings()

  init() {}

  public init(environment: EnvironmentReader) throws(ConfigurationError) {
    guard let name = environment.optional("CRM_COMPANY_TIME_ZONE") else { return }
    guard name == "UTC" || TimeZone.knownTimeZoneIdentifiers.contains(name), let zone = TimeZone(identifier: name)
    else {
      throw ConfigurationError(
        variable: "CRM_COMPANY_TIME_ZONE", problem: "is \"\(name)\", not a known time zone",
        expected: "an IANA time zone name, e.g. Europe/Moscow")
    }
    zoneName = name
    self.zone = zone
  }
}
