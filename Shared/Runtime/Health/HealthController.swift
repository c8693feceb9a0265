import Foundation
import Hummingbird

/// `/health/live`: the process serves HTTP. `/health/ready`: its dependencies answer too (200,
/// status "ready", or "degraded" when an advisory check fails; 503 "not ready" otherwise).
public struct HealthController<Context: RequestContext>: Sendable {
  public var service: CRMService
  public var checks: [ReadinessCheck]
  public var timeout: Duration

  public init(service: CRMService, checks: [ReadinessCheck], timeout: Duration = .seconds(2)) {
    self.service = service
    self.checks = checks
    self.timeout = timeout
  }

  public func addRoutes(to router: Router<Context>) {
    router.get("/health/live") { _, _ in
      Self.json(.ok, ["service": service.rawValue, "status": "live"])
    }
    router.get("/health/ready") { _, _ in
      let report = await ReadinessReport.run(checks, timeout: timeout)
      return Self.json(
        report.isReady ? .ok : .serviceUnavailable,
        [
          "service": service.rawValue,
          "status": report.isReady ? (report.isDegraded ? "degraded" : "ready") : "not ready",
          "checks": report.results,
        ]
      )
    }
  }

  private static func json(_ status: HTTPResponse.Status, _ body: [String: any Sendable]) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data()
    return Response(
      status: status,
      headers: [.contentType: "application/json"],
      body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
    )
  }
}
