import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ActivityService

/// Offers and attempts: made on open deals, answered once — accepted, declined with a reason,
/// or no answer by the deadline (recorded by the service) — each with its event.
@Suite("Activity service: offers")
struct OfferTests {
  static func offer(deal: String, variant: String = "A: 5% off", in seconds: TimeInterval = 86_400)
    -> Crm_Activity_V1_MakeOfferRequest
  {
    .with {
      $0.dealID = deal
      $0.variant = variant
      $0.amount = .with {
        $0.minorUnits = 1_250_000_00
        $0.currency = "rub"
      }
      $0.terms = "Delivery included\nvalid for a week"
      $0.answerBy = Date().addingTimeInterval(seconds).timestamp
    }
  }

  @Test func anOfferIsCheckedAsItComesFromTheWire() throws {
    let now = Date()
    func refused(_ set: (inout Crm_Activity_V1_MakeOfferRequest) -> Void) -> InvalidField? {
      var request = Self.offer(deal: UUID().uuidString)
      request.answerBy = now.addingTimeInterval(3600).timestamp
      set(&request)
      do {
        try OfferInput.newOffer(request).checkAnswerBy(now: now)
        return nil
      } catch { return error }
    }
    #expect(refused { _ in } == nil)
    #expect(refused { $0.dealID = "" }?.field == "deal_id")
    #expect(refused { $0.variant = " " }?.field == "variant")
    #expect(refused { $0.variant = "A\u{202D}" }?.reason.contains("bidirectional") == true)
    #expect(refused { $0.terms = "x\u{0}" }?.field == "terms")
    #expect(refused { $0.clearAmount() }?.field == "amount")
    #expect(refused { $0.amount.minorUnits = -1 }?.field == "amount.minor_units")
    #expect(refused { $0.amount.minorUnits = .max }?.field == "amount.minor_units")
    #expect(refused { $0.amount.currency = "XYZ1" }?.field == "amount.currency")
    #expect(refused { $0.clearAnswerBy() }?.field == "answer_by")
    #expect(refused { $0.answerBy = now.addingTimeInterval(-1).timestamp }?.reason.contains("past") == true)
    #expect(refused { $0.answerBy = .with { $0.seconds = .min } }?.field == "answer_by.seconds")
    #expect(refused { $0.answerBy = now.addingTimeInterval(400 * 86_400).timestamp }?.field == "answer_by")
    #expect(try OfferInput.newOffer(Self.offer(deal: UUID().uuidString)).amount.currency == "RUB")

    func answer(_ outcome: Crm_Activity_V1_OfferOutcome, _ reason: String) -> InvalidField? {
      do {
        _ = try OfferInput.answer(
          .with {
            $0.outcome = outcome
            $0.reason = reason
          })
        return nil
      } catch { return error }
    }
    #expect(answer(.accepted, "") == nil)
    #expect(answer(.declined, "Too expensive") == nil)
    #expect(answer(.declined, " ")?.field == "reason")
    #expect(answer(.accepted, "because")?.field == "reason")
    #expect(answer(.noAnswer, "")?.field == "outcome")
    #expect(answer(.pending, "")?.field == "outcome")
    #expect(answer(.UNRECOGNIZED(7), "")?.field == "outcome")
  }

  @Test func offersAreAnsweredOnceAcceptedOrDeclinedWithTheirReason() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let deal = try await context.knownDeal(contact: contact)
      let first = try await context.activity.makeOffer(Self.offer(deal: deal))
      #expect(first.contactID == contact && first.outcome == .pending && first.version == 1)
      #expect(first.amount.currency == "RUB" && first.madeBy == "manager:manager-1")
      let declined = try await context.activity.answerOffer(
        .with {
          $0.offerID = first.id
          $0.outcome = .declined
          $0.reason = "Competitor is 10% cheaper"
          $0.expectedVersion = 1
        })
      #expect(declined.outcome == .declined && declined.declineReason == "Competitor is 10% cheaper")
      #expect(declined.answeredBy == "manager:manager-1" && declined.hasAnsweredAt && declined.version == 2)
      // An answer is final.
      let again = Crm_Activity_V1_AnswerOfferRequest.with {
        $0.offerID = first.id
        $0.outcome = .accepted
        $0.expectedVersion = 2
      }
      #expect(await statusCode { try await context.activity.answerOffer(again) } == .failedPrecondition)
      var stale = again
      stale.expectedVersion = 1
      #expect(await statusCode { try await context.activity.answerOffer(stale) } == .aborted)

      let second = try await context.activity.makeOffer(Self.offer(deal: deal, variant: "B: free delivery"))
      let accepted = try await context.activity.answerOffer(
        .with {
          $0.offerID = second.id
          $0.outcome = .accepted
          $0.expectedVersion = 1
        })
      #expect(accepted.outcome == .accepted && accepted.declineReason.isEmpty)

      // Newest first, paged.
      let page = try await context.activity.listOffers(
        .with {
          $0.dealID = deal
          $0.page.pageSize = 1
        })
      #expect(page.offers == [accepted] && !page.nextPageToken.isEmpty)
      let rest = try await context.activity.listOffers(
        .with {
          $0.dealID = deal
          $0.page.pageToken = page.nextPageToken
        })
      #expect(rest.offers == [declined] && rest.nextPageToken.isEmpty)

      let made = try await context.events("crm.activity.v1.OfferMade")
      let answered = try await context.events("crm.activity.v1.OfferAnswered")
      #expect(made.count == 2 && answered.count == 2)
      let refusal = try Crm_Activity_V1_OfferAnswered(serializedBytes: answered[0].payload)
      #expect(refusal.offer == declined && answered[0].aggregateVersion == 2)

      // Bad input and unknown or closed deals: precise, and nothing written.
      let unknown = UUID().uuidString.lowercased()
      #expect(await statusCode { try await context.activity.makeOffer(Self.offer(deal: unknown)) } == .notFound)
      #expect(await statusCode { try await context.activity.listOffers(.with { $0.dealID = unknown }) } == .notFound)
      try await context.deliver(
        Crm_Deals_V1_DealLost.with {
          $0.deal = .with {
            $0.id = deal
            $0.contactID = contact
            $0.ownerID = "manager-1"
            $0.status = .lost
            $0.version = 5
          }
        }, on: EventTopics.deals, aggregateID: deal, version: 5)
      let closed = await failure { try await context.activity.makeOffer(Self.offer(deal: deal)) }
      #expect(closed == "deal \(deal) is lost; offers are made on open deals")
      #expect(try await context.count("SELECT count(*)::int FROM offers") == 2)
      #expect(try await context.events("crm.activity.v1.OfferMade").count == 2)
    }
  }

  @Test func withoutAnAnswerByTheDeadlineTheServiceRecordsNoAnswerOnce() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let deal = try await context.knownDeal(contact: contact)
      let soon = try await context.activity.makeOffer(Self.offer(deal: deal, variant: "soon", in: 60))
      let later = try await context.activity.makeOffer(Self.offer(deal: deal, variant: "later", in: 7200))
      let answered = try await context.activity.makeOffer(Self.offer(deal: deal, variant: "answered", in: 60))
      _ = try await context.activity.answerOffer(
        .with {
          $0.offerID = answered.id
          $0.outcome = .accepted
          $0.expectedVersion = 1
        })
      // Two minutes on, two replicas sweep at once: only the pending offer past its deadline
      // gets "no answer", once.
      let inTwoMinutes = Date().addingTimeInterval(120)
      async let one = context.repository.recordMissedDeadlines(now: inTwoMinutes)
      async let two = context.repository.recordMissedDeadlines(now: inTwoMinutes)
      let swept = try await one + two
      #expect(swept.map(\.id) == [soon.id])
      #expect(swept.first?.outcome == .noAnswer && swept.first?.answeredBy == "service:activity")
      #expect(try await context.repository.recordMissedDeadlines(now: inTwoMinutes).isEmpty)

      let events = try await context.events("crm.activity.v1.OfferAnswered")
      let noAnswer = try events.map { try Crm_Activity_V1_OfferAnswered(serializedBytes: $0.payload).offer }
        .filter { $0.outcome == .noAnswer }
      #expect(noAnswer.map(\.id) == [soon.id])
      #expect(events.filter { $0.actor == "service:activity" }.count == 1)
      // The client's late answer does not overwrite it.
      let late = Crm_Activity_V1_AnswerOfferRequest.with {
        $0.offerID = soon.id
        $0.outcome = .accepted
        $0.expectedVersion = 2
      }
      #expect(await statusCode { try await context.activity.answerOffer(late) } == .failedPrecondition)
      let listed = try await context.activity.listOffers(.with { $0.dealID = deal }).offers
      #expect(
        Dictionary(uniqueKeysWithValues: listed.map { ($0.id, $0.outcome) }) == [
          soon.id: .noAnswer, later.id: .pending, answered.id: .accepted,
        ])
    }
  }

  /// Past its deadline an offer has had no answer even before the sweep records it: a late
  /// answer is refused, and nothing changes.
  @Test func anAnswerAfterTheDeadlineIsRefusedBeforeTheSweep() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let deal = try await context.knownDeal(contact: contact)
      let offer = try await context.activity.makeOffer(Self.offer(deal: deal, variant: "late", in: 60))
      _ = try await context.database.query(
        "UPDATE offers SET answer_by = now() - interval '1 second' WHERE id = \(UUID(uuidString: offer.id)!)",
        logger: ActivityHarness.logger)
      let late = Crm_Activity_V1_AnswerOfferRequest.with {
        $0.offerID = offer.id
        $0.outcome = .accepted
        $0.expectedVersion = 1
      }
      #expect(await statusCode { try await context.activity.answerOffer(late) } == .failedPrecondition)
      #expect(await failure { try await context.activity.answerOffer(late) }.contains("no answer"))
      #expect(try await context.count("SELECT count(*) FROM offers WHERE outcome = 'pending'") == 1)
      #expect(try await context.events("crm.activity.v1.OfferAnswered").isEmpty)
    }
  }

  @Test func aManagerMakesAndAnswersOffersOnlyOnHisOwnDeals() async throws {
    try await ActivityHarness.with(caller: "manager:manager-2") { context in
      let contact = try await context.knownContact(owner: "manager-1")
      let deal = try await context.knownDeal(contact: contact, owner: "manager-1")
      let message = await failure { try await context.activity.makeOffer(Self.offer(deal: deal)) }
      #expect(message.contains("belongs to manager-1"), "\(message)")
      let offer = try await context.repository.makeOffer(
        try OfferInput.newOffer(Self.offer(deal: deal)), by: TestIdentity.principal("manager:manager-1"), now: Date())
      let answer = Crm_Activity_V1_AnswerOfferRequest.with {
        $0.offerID = offer.id
        $0.outcome = .accepted
        $0.expectedVersion = 1
      }
      #expect(await statusCode { try await context.activity.answerOffer(answer) } == .permissionDenied)
      #expect(try await context.count("SELECT count(*)::int FROM offers WHERE outcome = 'pending'") == 1)
    }
  }

  @Test func aRepeatedOfferAfterItsAnswerDateIsAnsweredWithItsFirstReply() async throws {
    try await ActivityHarness.with { context in
      let contact = try await context.knownContact()
      let deal = try await context.knownDeal(contact: contact)
      // Due in 2 s; the same request redelivered after that is answered, not refused.
      let request = Self.offer(deal: deal, in: 2)
      let first = try await context.activity.makeOffer(request, metadata: ["crm-request-id": "offer-1"])
      try await Task.sleep(for: .seconds(2.5))
      let again = try await context.activity.makeOffer(request, metadata: ["crm-request-id": "offer-1"])
      #expect(again == first)
      #expect(try await context.events("crm.activity.v1.OfferMade").count == 1)
      // A new request with that answer date is refused.
      let late = await failure {
        try await context.activity.makeOffer(request, metadata: ["crm-request-id": "offer-2"])
      }
      #expect(late.contains("answer_by"), "\(late)")
    }
  }
}
