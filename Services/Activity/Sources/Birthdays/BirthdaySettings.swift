import CRMRuntime
import Foundation

/// When the morning birthday run happens: `CRM_BIRTHDAY_TIME` (`HH:MM`, default `09:00`, `off`
/// for none) on the company's clock (`CRM_COMPANY_TIME_ZONE`, read by `HygieneSettings`).
struct BirthdaySettings: Sendable, Equatable {
  var time: DailyRun?
  var zone: TimeZone

  static let expected = "a time of day HH:MM (00:00 to 23:59), or off"

  init(time: DailyRun?, zone: TimeZone) {
    self.time = time
    self.zone = zone
  }

  init(environment: [String: String], companyZone: TimeZone) throws(ConfigurationError) {
    zone = companyZone
    guard let text = EnvironmentReader(environment).optional("CRM_BIRTHDAY_TIME") else {
      time = DailyRun(hour: 9, minute: 0)
      return
    }
    if text.lowercased() == "off" {
      time = nil
      return
    }
    guard let run = DailyRun(text) else {
      throw ConfigurationError(variable: "CRM_BIRTHDAY_TIME", problem: "is \"\(text)\"", expected: Self.expected)
    }
    time = run
  }
}
