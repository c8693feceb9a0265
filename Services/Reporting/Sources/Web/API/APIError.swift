import CRMDomain
import Foundation
import GRPCCore
import HTTPTypes

/// A refusal of the JSON API: its status, the parameter or body field that is wrong (when one
/// is), and a message. Answered as the document's `Error` object; never carries what the
/// database said.
struct APIError: Error, Sendable, Equatable {
  var status: HTTPResponse.Status
  var field: String?
  var message: String
  /// Seconds to wait (429: Retry-After).
  var retryAfter: Int?

  init(_ status: HTTPResponse.Status, field: String? = nil, _ message: String, retryAfter: Int? = nil) {
    self.status = status
    self.field = field
    self.message = message
    self.retryAfter = retryAfter
  }

  static func parameter(_ name: String, _ reason: String) -> APIError {
    APIError(.badRequest, field: name, "\(name): \(reason)")
  }

  static let unauthenticated = APIError(
    .unauthorized, "sign in: send a bearer token (POST /api/v1/tokens) or the web session cookie")

  /// The reporting handler's refusal: its status, the field renamed as the API names it.
  static func reporting(_ error: RPCError) -> APIError {
    let field = error.message.split(separator: ":", maxSplits: 1).first.map(String.init)
    let named = field.flatMap { parameterNames[$0] }
    switch error.code {
    case .invalidArgument:
      let reason = error.message.split(separator: ":", maxSplits: 1).dropFirst().first.map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      if let named, let reason { return .parameter(named, reason) }
      return APIError(.badRequest, error.message)
    case .permissionDenied: return APIError(.forbidden, error.message)
    case .notFound: return APIError(.notFound, field: named, error.message)
    case .unauthenticated: return .unauthenticated
    default: return APIError(.serviceUnavailable, "the reports could not be read now; try again")
    }
  }

  /// The reporting requests' field names → the API's parameters.
  static let parameterNames = [
    "pipeline_id": "pipeline", "stage_id": "stage", "owner_id": "owner", "manager_id": "owner", "source": "source",
    "business_line": "businessLine", "kind": "kind", "days": "days", "as_of": "asOf", "months": "months",
    "currency": "currency", "bucket": "bucket", "period.from": "from", "period.to": "to", "period": "to",
    "page.page_token": "cursor", "page.page_size": "pageSize",
  ]
}
