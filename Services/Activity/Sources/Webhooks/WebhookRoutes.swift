import CRMDomain
import Foundation
import Hummingbird
import Logging

/// `POST /webhooks/telephony` and `POST /webhooks/mail` on the service's HTTP port: the signature
/// first (401), then the body (400 naming the field), then the store (200 with the reply; a
/// repeat of an event id answers the first reply with `X-CRM-Replay: true`).
struct WebhookRoutes<Context: RequestContext>: Sendable {
  static var replayHeader: String { "X-CRM-Replay" }

  let settings: WebhookSettings
  let store: any CommunicationStore
  let logger: Logger
  /// Called after an unknown caller's number was stored: wakes the lead worker.
  var unknownCaller: @Sendable () -> Void = {}
  var now: @Sendable () -> Date = { Date() }

  func addRoutes(to router: Router<Context>) {
    router.post("/webhooks/telephony") { request, _ in
      await handle(request) { (body) throws(InvalidField) in
        try CommunicationInput.telephony(body, region: settings.region, now: now())
      }
    }
    router.post("/webhooks/mail") { request, _ in
      await handle(request) { (body) throws(InvalidField) in try CommunicationInput.mail(body, now: now()) }
    }
  }

  func handle(_ request: Request, parse: ([UInt8]) throws(InvalidField) -> Communication) async -> Response {
    guard let secret = settings.secret else {
      return Self.refusal(
        WebhookRefused(
          status: 503, error: "unavailable", field: nil,
          message: "webhooks are not configured: set CRM_WEBHOOK_SECRET or CRM_WEBHOOK_SECRET_FILE"))
    }
    let body: [UInt8]
    do {
      body = Array(try await request.body.collect(upTo: settings.maxBytes).readableBytesView)
    } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
      return Self.refusal(
        WebhookRefused(
          status: 413, error: "too_large", field: "body", message: "body: is over \(settings.maxBytes) bytes"))
    } catch {
      return Self.refusal(WebhookRefused(status: 400, error: "invalid_argument", field: "body", message: "\(error)"))
    }
    let communication: Communication
    do {
      try WebhookSignature(secret: secret).verify(
        body, timestamp: request.headers[.init(WebhookSignature.timestampHeader)!],
        signature: request.headers[.init(WebhookSignature.signatureHeader)!], now: now())
      communication = try parse(body)
    } catch let refused as WebhookRefused {
      return Self.refusal(refused)
    } catch let invalid as InvalidField {
      return Self.refusal(.invalid(invalid.field, invalid.reason))
    } catch {
      return Self.refusal(WebhookRefused(status: 400, error: "invalid_argument", field: "body", message: "\(error)"))
    }
    do {
      let (reply, replay) = try await store.receive(communication)
      if reply.status == "awaiting_lead" && reply.leadID == nil && !replay { unknownCaller() }
      var headers: HTTPFields = [.contentType: "application/json"]
      if replay { headers[.init(Self.replayHeader)!] = "true" }
      return Response(
        status: .ok, headers: headers,
        body: ResponseBody(byteBuffer: ByteBuffer(string: reply.json)))
    } catch let error as any DomainError {
      return Self.refusal(
        WebhookRefused(
          status: error.status == .invalidArgument ? 400 : 409, error: "\(error.status)", field: nil,
          message: error.description))
    } catch {
      // A lost database: the provider retries later (the event id makes the retry harmless).
      logger.error("webhook not stored", metadata: ["error": "\(error)", "event_id": "\(communication.eventID)"])
      return Self.refusal(
        WebhookRefused(status: 503, error: "unavailable", field: nil, message: "not stored; try again later"))
    }
  }

  static func refusal(_ refused: WebhookRefused) -> Response {
    var body: [String: String] = ["error": refused.error, "message": refused.message]
    if let field = refused.field { body["field"] = field }
    return Response(
      status: HTTPResponse.Status(code: refused.status), headers: [.contentType: "application/json"],
      body: ResponseBody(byteBuffer: ByteBuffer(string: JSONText.object(body))))
  }
}
