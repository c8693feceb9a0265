import CRMDomain
import Foundation
import GRPCCore
import HTTPTypes

/// A failure answered with a page: its status and a message in Russian naming what was wrong.
/// Messages are shown escaped, and never carry what another service or the database said
/// beyond quality-control's own reasons (codes only, behind the wall).
public struct WebError: Error, Sendable, Equatable {
  public var status: HTTPResponse.Status
  public var message: String
  /// Seconds to wait (429: Retry-After).
  public var retryAfter: Int?

  public init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
    self.status = status
    self.message = message
    self.retryAfter = retryAfter
  }

  static func field(_ invalid: InvalidField) -> WebError {
    WebError(.badRequest, "Поле «\(invalid.field)»: \(invalid.reason)")
  }

  static let csrf = WebError(
    .forbidden, "Форма устарела или пришла не с нашей страницы: обновите страницу и повторите.")
  static let signInAgain = WebError(.unauthorized, "Сессия закончилась: войдите снова.")
  static let forbidden = WebError(.forbidden, "Эта страница не для вашей роли.")

  /// Quality-control's answer to a call made for the person.
  static func qualityControl(_ error: RPCError) -> WebError {
    switch error.code {
    case .invalidArgument: WebError(.badRequest, "Контроль качества не принял данные: \(error.message)")
    case .failedPrecondition, .aborted, .alreadyExists:
      WebError(.conflict, "Контроль качества отказал: \(error.message)")
    case .notFound: WebError(.notFound, "Контроль качества не нашёл этого: \(error.message)")
    case .permissionDenied: WebError(.forbidden, "Контроль качества не разрешает это вашей роли.")
    case .deadlineExceeded, .unavailable, .resourceExhausted:
      WebError(.serviceUnavailable, "Контроль качества не ответил вовремя: повторите чуть позже.")
    default: WebError(.badGateway, "Контроль качества ответил ошибкой: повторите позже.")
    }
  }
}
