import CRMContracts
import CRMDomain
import CRMMail
import Foundation

/// Checks of a `SendEmailRequest`: each failure names the field; a line break where a header
/// goes (subject, address) is refused outright, as it would let the text add headers or
/// recipients of its own.
enum EmailInput {
  static let subjectLength = 200
  static let bodyLength = 8_000

  struct NewEmail: Sendable {
    var contactID: UUID?
    var dealID: UUID?
    /// Nil: the contact's address on record.
    var to: MailAddress?
    var subject: String
    var body: String

    /// What the activity records: the subject, a blank line, the body.
    var activityText: String { body.isEmpty ? subject : subject + "\n\n" + body }
  }

  static func newEmail(_ request: Crm_Activity_V1_SendEmailRequest) throws(InvalidField) -> NewEmail {
    try request.requireKnownFields("request")
    let links = try ActivityInput.links(contact: request.contactID, deal: request.dealID)
    let to = request.to.isEmpty ? nil : try address(request.to, "to")
    let subject = try oneLine(request.subject, "subject", limit: subjectLength)
    let body = try Text.field(request.body, "body", limit: bodyLength, required: true, multiline: true)
    return NewEmail(contactID: links.contact, dealID: links.deal, to: to, subject: subject, body: body)
  }

  /// A header value: no CR or LF anywhere (not even at the ends, which trimming would hide).
  static func oneLine(_ value: String, _ field: String, limit: Int) throws(InvalidField) -> String {
    if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
      throw InvalidField(
        field: field, reason: "holds a line break; a mail header is one line (refused as header injection)")
    }
    return try Text.field(value, field, limit: limit, required: true)
  }

  static func address(_ value: String, _ field: String) throws(InvalidField) -> MailAddress {
    switch MailAddress.parse(value) {
    case .success(let address): return address
    case .failure(let problem):
      throw InvalidField(field: field, reason: "\(Text.quoted(value)) is not an address: \(problem)")
    }
  }
}

extension Crm_Activity_V1_EmailStatus {
  var text: String {
    switch self {
    case .sent: "sent"
    case .failed: "failed"
    case .notSent: "not_sent"
    default: "pending"
    }
  }

  init(text: String) {
    switch text {
    case "sent": self = .sent
    case "failed": self = .failed
    case "not_sent": self = .notSent
    default: self = .pending
    }
  }
}
