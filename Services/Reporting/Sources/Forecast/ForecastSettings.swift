import CRMRuntime
import Foundation

/// The forecast's clock, read from the environment at startup: `CRM_COMPANY_TIME_ZONE` (the
/// setting activity reads for its end-of-day reports) cuts the backtest's months and makes a
/// deal's expected close date an instant, the start of that day. Unset, the executable takes
/// activity's default, `Europe/Moscow`, so that both services cut days alike; `default` (UTC) is
/// for tests that build the service in process.
public struct ForecastSettings: Sendable, Equatable {
  var zoneName = "UTC"
  var zone = TimeZone(identifier: "UTC")!

  public static let `default` = ForecastSettings()
  /// Activity's default company clock (`HygieneSettings`).
  static let companyDefault = "Europe/Moscow"

  init() {}

  public init(environment: EnvironmentReader) throws(ConfigurationError) {
    let name = environment.optional("CRM_COMPANY_TIME_ZONE") ?? Self.companyDefault
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
