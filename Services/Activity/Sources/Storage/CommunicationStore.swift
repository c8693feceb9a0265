import Foundation

/// Where calls and e-mails from the webhooks are kept (`PostgresActivityRepository`).
protocol CommunicationStore: Sendable {
  /// Stores a provider's event once and links it to its contact (an activity when it is a
  /// finished call or an e-mail, with `ActivityLogged`); an unknown incoming caller's number is
  /// recorded for its lead in the same transaction. A repeat of the event id stores and
  /// publishes nothing and answers the first reply (`replay` true).
  func receive(_ communication: Communication) async throws -> (reply: WebhookReply, replay: Bool)
}

/// What a webhook answers (and answers again to a repeat of the same event).
struct WebhookReply: Codable, Sendable, Equatable {
  /// `logged`: an activity on the contact; `recorded`: kept, on a known contact, no activity
  /// (a call's start or answer); `awaiting_lead`: an unknown caller, whose lead is being made
  /// (the call becomes an activity once the lead is converted into a contact); `unmatched`: no
  /// contact has this number or address yet (linked once one does).
  var status: String
  var id: String
  var contactID: String?
  var activityID: String?
  var leadID: String?

  enum CodingKeys: String, CodingKey {
    case status, id
    case contactID = "contact_id"
    case activityID = "activity_id"
    case leadID = "lead_id"
  }

  /// As `JSONEncoder` with sorted keys writes it (absent ids left out), written by hand: stored
  /// with the call and sent as the answer.
  var json: String {
    JSONText.object([
      ("status", status), ("id", id), ("contact_id", contactID), ("activity_id", activityID), ("lead_id", leadID),
    ])
  }
}
