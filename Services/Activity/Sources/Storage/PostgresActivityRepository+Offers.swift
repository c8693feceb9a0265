import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import PostgresNIO

/// Offers and their answers: attempts and refusals kept as data, each with its event.
extension PostgresActivityRepository {
  /// Who records "no answer" when an offer's deadline passes.
  static let deadlineActor = "service:activity"

  /// What `decodeOffers` reads from `offers o`, in its order.
  static let offerColumns = """
    o.id, o.deal_id, o.contact_id, o.variant, o.amount_minor, o.currency, o.terms, o.answer_by, o.outcome,
    o.decline_reason, o.made_by, o.made_at, o.answered_by, o.answered_at, o.version, o.seq
    """

  func makeOffer(_ offer: OfferInput.NewOffer, by principal: Principal, now: Date) async throws
    -> Crm_Activity_V1_Offer
  {
    try await idempotent(client: client, logger: logger) { key in
      // Inside: a repeated request made before its answer date is answered, not refused.
      try offer.checkAnswerBy(now: now)
      return try await client.withTransaction(logger: logger) { connection in
        let rows = try await connection.query(
          "SELECT contact_id, owner_id, status FROM known_deals WHERE id = \(offer.dealID)", logger: logger)
        guard
          let (contact, owner, status) = try await rows.decode((UUID, String, String).self).first(where: { _ in true })
        else { throw NotFound(entity: "deal", id: offer.dealID.text) }
        try Self.checkMay(principal, workOn: "deal \(offer.dealID.text)", ownedBy: owner)
        guard status == "open" else {
          throw RuleBroken(description: "deal \(offer.dealID.text) is \(status); offers are made on open deals")
        }
        let inserted = try await connection.query(
          """
          INSERT INTO offers AS o (id, deal_id, contact_id, variant, amount_minor, currency, terms, answer_by, outcome,
                                   made_by)
          VALUES (\(UUID()), \(offer.dealID), \(contact), \(offer.variant), \(offer.amount.minorUnits),
                  \(offer.amount.currency), \(offer.terms), \(offer.answerBy), 'pending', \(principal.description))
          RETURNING \(unescaped: Self.offerColumns)
          """,
          logger: logger)
        guard let made = try await decodeOffers(inserted).first?.offer else {
          throw RuleBroken(description: "the offer was not stored")
        }
        try await publish(
          Crm_Activity_V1_OfferMade.with { $0.offer = made }, aggregateID: made.id, version: made.version,
          actor: principal.description, on: connection)
        try await RequestReplies.record(made, key: key, on: connection, logger: logger)
        return made
      }
    }
  }

  func answerOffer(
    id: String, outcome: Crm_Activity_V1_OfferOutcome, reason: String, expectedVersion: Int64, by principal: Principal
  ) async throws -> Crm_Activity_V1_Offer {
    let offerID = try UUID(id, of: "offer")
    return try await client.withTransaction(logger: logger) { connection in
      let rows = try await connection.query(
        """
        SELECT \(unescaped: Self.offerColumns), d.owner_id FROM offers o JOIN known_deals d ON d.id = o.deal_id
        WHERE o.id = \(offerID) FOR UPDATE OF o
        """,
        logger: logger)
      var found: (Crm_Activity_V1_Offer, String)?
      for try await row in rows {
        let cells = row.makeRandomAccess()
        found = (try Self.decodeOffer(row).offer, try cells[cells.count - 1].decode(String.self))
      }
      guard let (offer, owner) = found else { throw NotFound(entity: "offer", id: id) }
      try Self.checkMay(principal, workOn: "deal \(offer.dealID)", ownedBy: owner)
      guard offer.version == expectedVersion else {
        throw VersionConflict(entity: "offer", id: offer.id, expected: expectedVersion, current: offer.version)
      }
      guard offer.outcome == .pending else {
        throw RuleBroken(
          description: "offer \(offer.id) is answered already (\(offer.outcome.text)); an answer is final")
      }
      // Past its deadline an offer has had no answer, whether or not the sweep recorded it yet.
      if offer.hasAnswerBy, offer.answerBy.date <= Date() {
        throw RuleBroken(
          description: "offer \(offer.id) had to be answered by \(offer.answerBy.date.ISO8601Format()); past its "
            + "deadline it counts as no answer (make a new offer for a late answer)")
      }
      let updated = try await connection.query(
        """
        UPDATE offers AS o SET outcome = \(outcome.text), decline_reason = \(reason),
          answered_by = \(principal.description), answered_at = now(), version = version + 1
        WHERE id = \(offerID) RETURNING \(unescaped: Self.offerColumns)
        """,
        logger: logger)
      let answered = try await decodeOffers(updated)[0].offer
      try await publish(
        Crm_Activity_V1_OfferAnswered.with { $0.offer = answered }, aggregateID: answered.id,
        version: answered.version, actor: principal.description, on: connection)
      return answered
    }
  }

  /// Records "no answer" on up to `limit` offers whose deadline passed by `now`, with their
  /// events; returns them. Replicas sweeping at once share the work (rows taken by one are
  /// skipped by the others), and an offer answered meanwhile is no longer pending: each offer
  /// gets exactly one answer.
  func recordMissedDeadlines(now: Date, limit: Int = 100) async throws -> [Crm_Activity_V1_Offer] {
    try await client.withTransaction(logger: logger) { connection in
      let rows = try await connection.query(
        """
        WITH due AS (
          SELECT id FROM offers WHERE outcome = 'pending' AND answer_by <= \(now)
          ORDER BY answer_by LIMIT \(limit) FOR UPDATE SKIP LOCKED
        )
        UPDATE offers AS o SET outcome = 'no_answer', answered_by = \(Self.deadlineActor), answered_at = \(now),
          version = version + 1
        FROM due WHERE o.id = due.id RETURNING \(unescaped: Self.offerColumns)
        """,
        logger: logger)
      let missed = try await decodeOffers(rows).map(\.offer)
      if !missed.isEmpty {
        try await Outbox.append(
          try missed.map { offer in
            try ActivityEvents.event(
              aggregateID: offer.id, version: offer.version, actor: Self.deadlineActor,
              Crm_Activity_V1_OfferAnswered.with { $0.offer = offer })
          }, on: connection, logger: logger)
      }
      return missed
    }
  }

  func offers(deal: UUID, after cursor: Int64?, limit: Int) async throws -> ([Crm_Activity_V1_Offer], next: Int64?) {
    let rows = try await client.query(
      """
      SELECT \(unescaped: Self.offerColumns) FROM offers o
      WHERE o.deal_id = \(deal) AND (\(cursor)::bigint IS NULL OR o.seq < \(cursor))
      ORDER BY o.seq DESC LIMIT \(limit + 1)
      """,
      logger: logger)
    let found = try await decodeOffers(rows)
    if found.isEmpty && cursor == nil {
      let known = try await client.query("SELECT 1 FROM known_deals WHERE id = \(deal)", logger: logger).collect()
      guard !known.isEmpty else { throw NotFound(entity: "deal", id: deal.text) }
    }
    guard found.count > limit else { return (found.map(\.offer), nil) }
    return (found.prefix(limit).map(\.offer), found[limit - 1].seq)
  }

  func decodeOffers(_ rows: PostgresRowSequence) async throws -> [(offer: Crm_Activity_V1_Offer, seq: Int64)] {
    var offers: [(Crm_Activity_V1_Offer, Int64)] = []
    for try await row in rows { offers.append(try Self.decodeOffer(row)) }
    return offers
  }

  /// The offer in the first columns of `row` (`offerColumns`), and its position in listings.
  static func decodeOffer(_ row: PostgresRow) throws -> (offer: Crm_Activity_V1_Offer, seq: Int64) {
    let cells = row.makeRandomAccess()
    var offer = Crm_Activity_V1_Offer()
    offer.id = try cells[0].decode(UUID.self).text
    offer.dealID = try cells[1].decode(UUID.self).text
    offer.contactID = try cells[2].decode(UUID.self).text
    offer.variant = try cells[3].decode(String.self)
    let (minorUnits, currency) = (try cells[4].decode(Int64.self), try cells[5].decode(String.self))
    offer.amount = .with {
      $0.minorUnits = minorUnits
      $0.currency = currency
    }
    offer.terms = try cells[6].decode(String.self)
    offer.answerBy = try cells[7].decode(Date.self).timestamp
    offer.outcome = Crm_Activity_V1_OfferOutcome(text: try cells[8].decode(String.self))
    offer.declineReason = try cells[9].decode(String.self)
    offer.madeBy = try cells[10].decode(String.self)
    offer.madeAt = try cells[11].decode(Date.self).timestamp
    offer.answeredBy = try cells[12].decode(String.self)
    if let answeredAt = try cells[13].decode(Date?.self) { offer.answeredAt = answeredAt.timestamp }
    offer.version = try cells[14].decode(Int64.self)
    return (offer, try cells[15].decode(Int64.self))
  }
}
