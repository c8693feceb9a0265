import CRMContracts
import CRMDomain
import Foundation
import SwiftProtobuf
import Testing

@testable import QualityControlService

/// The check of review items from the topic: only codes, a redacted text and safe attributes
/// pass; anything else names the field (and is dead-lettered by the inbox).
@Suite("Review item input")
struct ReviewItemInputTests {
  typealias Item = Crm_Qualitycontrol_V1_ReviewItem

  func refusal(_ change: (inout Item) -> Void) -> String? {
    var item = QualityControlHarness.item()
    change(&item)
    do {
      _ = try ReviewItemInput.check(item)
      return nil
    } catch {
      return error.field
    }
  }

  @Test func aWellFormedItemPasses() throws {
    let item = QualityControlHarness.item(rep: "ABCDEFGH23456777")
    let checked = try ReviewItemInput.check(item)
    #expect(checked.repCode == "ABCDEFGH23456777")
    #expect(checked.kind == "meeting")
    #expect(checked.withheldReason == nil)
    #expect(checked.context == ["meeting_place": "Office"])
  }

  @Test func everythingThatIsNotACodeIsRefused() {
    #expect(refusal { $0.repCode = "Petrov" } == "rep_code")
    #expect(refusal { $0.repCode = "manager-17" } == "rep_code")
    #expect(refusal { $0.clientCode = "abcdefgh23456777" } == "client_code")  // lower case
    #expect(refusal { $0.clientCode = "" } == "client_code")
    #expect(refusal { $0.dealCode = "+79123456789" } == "deal_code")
    #expect(refusal { $0.companyCode = "ABCDEFGH1" } == "company_code")  // 1 is not base32
    #expect(refusal { $0.itemID = UUID().uuidString } == "item_id")
    #expect(refusal { $0.companyCode = "" } == nil)
    #expect(refusal { $0.dealCode = "" } == nil)
  }

  @Test func kindTimeTextAndContextAreChecked() {
    #expect(refusal { $0.kind = .unspecified } == "kind")
    #expect(refusal { $0.clearOccurredAt() } == "occurred_at")
    #expect(refusal { $0.occurredAt.seconds = Int64.max } == "occurred_at")
    #expect(
      refusal { $0.occurredAt = Google_Protobuf_Timestamp(date: Date(timeIntervalSinceNow: 3 * 86_400)) }
        == "occurred_at")
    #expect(refusal { $0.redactedText = "" } == "redacted_text")
    #expect(refusal { $0.redactedText = "a\u{0}b" } == "redacted_text")
    #expect(refusal { $0.redactedText = String(repeating: "x", count: 20_001) } == "redacted_text")
    #expect(refusal { $0.context = ["Bad Key": "x"] } == "context")
    #expect(refusal { $0.context = ["weather": "\u{202E}x"] } == "context[weather]")
  }

  @Test func aWithheldItemCarriesAReasonAndNoText() throws {
    #expect(
      refusal {
        $0.withheld = true
        $0.withheldReason = .phone
      } == "redacted_text")  // still has its text
    #expect(
      refusal {
        $0.withheld = true
        $0.redactedText = ""
      } == "withheld_reason")
    #expect(refusal { $0.withheldReason = .phone } == "withheld_reason")  // not withheld
    var withheld = QualityControlHarness.item(text: "")
    withheld.withheld = true
    withheld.withheldReason = .name
    #expect(try ReviewItemInput.check(withheld).withheldReason == "name")
  }

  @Test func theDoubleReviewShareIsDeterministicAndNearTheShare() {
    let ids = (0..<10_000).map { _ in QualityControlHarness.code() }
    let doubled = ids.filter { DoubleReview.reviewsRequired(itemID: $0, share: 0.2) == 2 }.count
    #expect((1_800...2_200).contains(doubled))
    for id in ids.prefix(100) {
      #expect(
        DoubleReview.reviewsRequired(itemID: id, share: 0.2) == DoubleReview.reviewsRequired(itemID: id, share: 0.2))
    }
    #expect(ids.allSatisfy { DoubleReview.reviewsRequired(itemID: $0, share: 0) == 1 })
    #expect(ids.allSatisfy { DoubleReview.reviewsRequired(itemID: $0, share: 1) == 2 })
  }
}

extension Error {
  /// The field an `InvalidField` names, else a description.
  var field: String { (self as? InvalidField)?.field ?? "\(self)" }
}
