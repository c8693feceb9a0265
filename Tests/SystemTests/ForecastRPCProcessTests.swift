import CRMTestSupport
import Foundation
import Testing

/// The forecast's methods through the reporting executable and crmctl: the catalogue carries
/// them, the executable reads the company's clock, the access policy lets a head of sales in and
/// keeps quality control out.
@Suite("Reporting forecast through crmctl")
struct ForecastRPCProcessTests {
  @Test func crmctlAsksForTheForecastAndItsBacktest() async throws {
    try await TestSchema.with(database: "reporting") { _, schema in
      let broker = try await PrivateBroker()
      let reporting = try await ServiceProcess.start(
        "reporting", brokers: broker.brokers, schema: schema,
        environment: ["CRM_COMPANY_TIME_ZONE": "Europe/Moscow"])
      defer { reporting.signal(SIGKILL) }
      func crmctl(_ method: String, _ json: String, as principal: String) async throws -> (Int32?, String) {
        let child = try ChildProcess(
          LocalStack.binDirectory.appendingPathComponent("crmctl"),
          arguments: ["reporting", method, "--brokers", broker.brokers, "--as", principal, "--json", json],
          environment: TestIdentity.crmctlEnvironment)
        let status = try await child.waitForExit(within: .seconds(30))
        return (status, child.standardOutput + child.standardError)
      }
      let forecast = try await crmctl("GetForecast", "{}", as: "head_of_sales:head-1")
      #expect(forecast.0 == 0 && forecast.1.contains("\"calibrations\""), "\(forecast.1)")
      let backtest = try await crmctl("GetForecastBacktest", "{\"months\": 2}", as: "manager:m-1")
      // Months cut at Moscow's midnights (UTC+3, no summer time): 21:00 UTC the day before.
      #expect(backtest.0 == 0 && backtest.1.contains(#"Europe\/Moscow"#), "\(backtest.1)")
      #expect(backtest.1.contains("T21:00:00Z") && !backtest.1.contains("T00:00:00Z"), "\(backtest.1)")
      let denied = try await crmctl("GetForecast", "{}", as: "qc_reviewer:r-1")
      #expect(denied.0 == 7, "PERMISSION_DENIED: \(denied.1)")
    }
  }
}
