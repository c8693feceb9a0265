import CRMContracts
import CRMDomain
import Foundation
import SwiftProtobuf

/// A review item from `crm.qc.review-items`, checked: everything in it crossed the wall and is
/// hostile until proven to be codes, a redacted text and safe attributes. A failure names the
/// field; the inbox dead-letters the record.
struct IncomingItem: Sendable, Equatable {
  var id: String
  var kind: String
  var occurredAt: Date
  var repCode: String
  var clientCode: String
  var companyCode: String
  var dealCode: String
  var redactedText: String
  /// nil: the text was cleared; else why it was withheld (a word of a fixed list).
  var withheldReason: String?
  var context: [String: String]
}

enum ReviewItemInput {
  /// Activity's limit on a report is 10,000 characters; redaction markers may lengthen it.
  static let textLength = 20_000
  static let contextLimit = 50
  static let contextKeyLength = 64
  static let contextValueLength = 500
  /// 2000-01-01T00:00:00Z … a day ahead of now (clocks drift; a report describes the past).
  static let earliest = Date(timeIntervalSince1970: 946_684_800)

  static func check(_ item: Crm_Qualitycontrol_V1_ReviewItem, now: Date = Date()) throws(InvalidField)
    -> IncomingItem
  {
    try item.requireKnownFields("review_item")
    let id = try Codes.check(item.itemID, "item_id")
    let kind: String
    switch item.kind {
    case .meeting: kind = "meeting"
    case .call: kind = "call"
    default: throw InvalidField(field: "kind", reason: "expected REVIEW_ITEM_KIND_MEETING or REVIEW_ITEM_KIND_CALL")
    }
    guard item.hasOccurredAt else { throw InvalidField(field: "occurred_at", reason: "is missing") }
    try item.occurredAt.requireKnownFields("occurred_at")
    guard (0..<1_000_000_000).contains(item.occurredAt.nanos) else {
      throw InvalidField(field: "occurred_at.nanos", reason: "is \(item.occurredAt.nanos); expected 0 to 999999999")
    }
    let seconds = item.occurredAt.seconds
    guard seconds >= Int64(earliest.timeIntervalSince1970), seconds <= Int64(now.timeIntervalSince1970) + 86_400 else {
      throw InvalidField(field: "occurred_at", reason: "is outside 2000-01-01 to a day from now")
    }
    let occurredAt = item.occurredAt.date
    let withheldReason = try reason(item)
    let text = try Text.field(item.redactedText, "redacted_text", limit: textLength, multiline: true)
    if withheldReason != nil, !text.isEmpty {
      throw InvalidField(field: "redacted_text", reason: "a withheld item carries no text")
    }
    if withheldReason == nil, text.isEmpty {
      throw InvalidField(field: "redacted_text", reason: "is empty; an item without text is withheld or not sent")
    }
    return IncomingItem(
      id: id, kind: kind, occurredAt: occurredAt,
      repCode: try Codes.check(item.repCode, "rep_code"),
      clientCode: try Codes.check(item.clientCode, "client_code"),
      companyCode: try Codes.check(item.companyCode, "company_code", required: false),
      dealCode: try Codes.check(item.dealCode, "deal_code", required: false),
      redactedText: text, withheldReason: withheldReason, context: try context(item.context))
  }

  /// The reason of a withheld item as stored; nil for an item with its text.
  static func reason(_ item: Crm_Qualitycontrol_V1_ReviewItem) throws(InvalidField) -> String? {
    guard item.withheld else {
      guard item.withheldReason == .unspecified else {
        throw InvalidField(field: "withheld_reason", reason: "is set on an item that is not withheld")
      }
      return nil
    }
    switch item.withheldReason {
    case .phone: return "phone"
    case .email: return "email"
    case .address: return "address"
    case .name: return "name"
    case .other: return "other"
    default: throw InvalidField(field: "withheld_reason", reason: "a withheld item says why (a WITHHELD_REASON_…)")
    }
  }

  static func context(_ context: [String: String]) throws(InvalidField) -> [String: String] {
    guard context.count <= contextLimit else {
      throw InvalidField(field: "context", reason: "has \(context.count) attributes; at most \(contextLimit)")
    }
    var checked: [String: String] = [:]
    for (key, value) in context {
      // The key is not quoted back: what crossed the wall unchecked is never echoed (logs, dead letters).
      guard RubricDefinition.isKey(key, limit: contextKeyLength) else {
        throw InvalidField(field: "context", reason: "has a key that is not 1 to \(contextKeyLength) of a-z, 0-9 and _")
      }
      checked[key] = try Text.field(value, "context[\(key)]", limit: contextValueLength)
    }
    return checked
  }
}

/// Which items are reviewed twice: a share of them, chosen from the item id alone, so every
/// replica (and every redelivery) makes the same choice.
enum DoubleReview {
  /// 1 or 2 reviews for `itemID` when `share` (0…1) of the items are reviewed twice.
  static func reviewsRequired(itemID: String, share: Double) -> Int {
    position(of: itemID) < share ? 2 : 1
  }

  /// The item's place in [0, 1): FNV-1a of its bytes, mixed (SplitMix64's finaliser) so that
  /// neighbouring ids spread over the whole range.
  static func position(of itemID: String) -> Double {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in itemID.utf8 {
      hash ^= UInt64(byte)
      hash = hash &* 0x100_0000_01b3
    }
    hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
    hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
    hash ^= hash >> 31
    return Double(hash >> 11) / Double(UInt64(1) << 53)
  }
}
