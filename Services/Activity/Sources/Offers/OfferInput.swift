import CRMContracts
import CRMDomain
import Foundation

/// Checks of what clients send about offers: each failure names the field and why. Refusals
/// are data too: a declined offer states why.
enum OfferInput {
  static let variantLength = 100
  static let termsLength = 2_000
  static let reasonLength = 2_000
  /// How far ahead an answer may be due: one year.
  static let horizon: TimeInterval = 366 * 86_400

  /// A checked `MakeOfferRequest`.
  struct NewOffer: Sendable {
    var dealID: UUID
    var variant: String
    var amount: Crm_Common_V1_Money
    var terms: String
    var answerBy: Date

    /// Whether the answer is due ahead, within the horizon, at `now`: checked when the offer is
    /// made, after a repeated request was answered with its first reply (a redelivery after the
    /// answer date is not refused).
    func checkAnswerBy(now: Date) throws(InvalidField) {
      guard answerBy > now else {
        throw InvalidField(field: "answer_by", reason: "is in the past; the client answers later")
      }
      guard answerBy <= now.addingTimeInterval(OfferInput.horizon) else {
        throw InvalidField(field: "answer_by", reason: "is more than a year ahead")
      }
    }
  }

  /// The request's fields as sent; the answer date against the clock is `NewOffer.checkAnswerBy`.
  static func newOffer(_ request: Crm_Activity_V1_MakeOfferRequest) throws(InvalidField) -> NewOffer {
    try request.requireKnownFields("request")
    let dealID = try ActivityInput.id(request.dealID, "deal_id")
    let variant = try Text.field(request.variant, "variant", limit: variantLength, required: true)
    guard request.hasAmount else { throw InvalidField(field: "amount", reason: "is missing") }
    let amount = try request.amount.checked("amount")
    let terms = try Text.field(request.terms, "terms", limit: termsLength, multiline: true)
    guard request.hasAnswerBy else { throw InvalidField(field: "answer_by", reason: "is missing") }
    let answerBy = try WireTime.instant(request.answerBy, "answer_by")
    return NewOffer(dealID: dealID, variant: variant, amount: amount, terms: terms, answerBy: answerBy)
  }

  /// A checked answer: accepted, or declined with its reason.
  static func answer(_ request: Crm_Activity_V1_AnswerOfferRequest) throws(InvalidField) -> (
    outcome: Crm_Activity_V1_OfferOutcome, reason: String
  ) {
    try request.requireKnownFields("request")
    let reason = try Text.field(request.reason, "reason", limit: reasonLength, multiline: true)
    switch request.outcome {
    case .accepted:
      guard reason.isEmpty else {
        throw InvalidField(field: "reason", reason: "only a declined offer states a reason")
      }
    case .declined:
      guard !reason.isEmpty else {
        throw InvalidField(field: "reason", reason: "a declined offer states why the client declined; empty")
      }
    default:
      throw InvalidField(
        field: "outcome",
        reason: "expected OFFER_OUTCOME_ACCEPTED or OFFER_OUTCOME_DECLINED (no answer is recorded by the service)")
    }
    return (request.outcome, reason)
  }
}

extension Crm_Activity_V1_OfferOutcome {
  var text: String {
    switch self {
    case .accepted: "accepted"
    case .declined: "declined"
    case .noAnswer: "no_answer"
    default: "pending"
    }
  }

  init(text: String) {
    switch text {
    case "accepted": self = .accepted
    case "declined": self = .declined
    case "no_answer": self = .noAnswer
    default: self = .pending
    }
  }
}
