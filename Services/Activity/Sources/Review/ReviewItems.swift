import CRMContracts
import CRMReview
import Foundation
import SwiftProtobuf

/// Builds the review item of a meeting or call report (issue 15, DESIGN §6): ids become codes,
/// the text is cleared of what identifies anyone or withheld, and only the context attributes
/// the catalogue marks as safe go along (their values cleared as the text is).
enum ReviewItems {
  /// The kinds of activity that are reviewed.
  static func kind(_ kind: Crm_Activity_V1_ActivityKind) -> Crm_Qualitycontrol_V1_ReviewItemKind? {
    switch kind {
    case .meeting: .meeting
    case .call: .call
    default: nil
    }
  }

  /// Quality-control's limits (`ReviewItemInput`): a longer redacted text is withheld, a longer
  /// attribute value left out.
  static let textLength = 20_000
  static let contextValueLength = 500

  /// Why an item was withheld, as `review_items.withheld` stores it and the metric counts it.
  enum Withheld: String, Sendable, CaseIterable {
    case phone, email, address, name, other

    init(_ reason: TextRedactor.Withheld) {
      switch reason {
      case .phone: self = .phone
      case .email: self = .email
      case .address: self = .address
      case .name: self = .name
      }
    }

    var message: Crm_Qualitycontrol_V1_WithheldReason {
      switch self {
      case .phone: .phone
      case .email: .email
      case .address: .address
      case .name: .name
      case .other: .other
      }
    }
  }

  /// The item of `activity` (a meeting or call with text; nil otherwise). `company` is the
  /// client's company, if known; `safeKeys` the catalogue's attributes marked safe.
  static func item(
    of activity: Crm_Activity_V1_ActivityRecord, company: UUID?, safeKeys: Set<String>, codes: ReviewCodes,
    redactor: TextRedactor
  ) -> (item: Crm_Qualitycontrol_V1_ReviewItem, withheld: Withheld?)? {
    guard let kind = kind(activity.kind), !activity.text.isEmpty else { return nil }
    var item = Crm_Qualitycontrol_V1_ReviewItem()
    item.itemID = codes.code(.reviewItem, activity.id)
    item.kind = kind
    item.occurredAt = activity.occurredAt
    item.repCode = codes.code(.rep, activity.authorID)
    item.clientCode = codes.code(.client, activity.contactID)
    item.companyCode = company.map { codes.code(.company, $0.text) } ?? ""
    item.dealCode = activity.dealID.isEmpty ? "" : codes.code(.deal, activity.dealID)
    var withheld: Withheld?
    switch redactor.redact(activity.text) {
    case .cleared(let text) where text.count <= textLength: item.redactedText = text
    case .cleared: withheld = .other
    case .withheld(let reason): withheld = Withheld(reason)
    }
    if let withheld {
      item.withheld = true
      item.withheldReason = withheld.message
    }
    for (key, value) in activity.context where safeKeys.contains(key) {
      if let text = Self.text(value, redactor: redactor) { item.context[key] = text }
    }
    return (item, withheld)
  }

  /// A safe attribute's value as text: free text and choices cleared as the report is (left
  /// out when they cannot be), numbers only when nothing in them needs clearing, times as written.
  static func text(_ value: Crm_Activity_V1_AttributeValue, redactor: TextRedactor) -> String? {
    let text: String
    switch value.value {
    case .text(let raw), .choice(let raw):
      guard case .cleared(let cleared) = redactor.redact(raw) else { return nil }
      text = cleared
    case .number(let number):
      // A number may be a phone, a tax number or an account: it goes only as the redactor
      // leaves it, untouched (five digits or more are not).
      let written = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
      guard case .cleared(let cleared) = redactor.redact(written), cleared == written else { return nil }
      text = written
    case .time(let time):
      text = time.date.formatted(.iso8601)
    case nil:
      return nil
    }
    return text.isEmpty || text.count > contextValueLength ? nil : text
  }
}
