import Foundation
import PostgresNIO

/// Unknown callers' numbers waiting for their lead.
extension PostgresActivityRepository {
  /// Asks for the lead of one waiting number whose time has come, holding its row locked
  /// meanwhile (another replica takes the next one); records the lead on the number and its
  /// waiting calls, or the failure and when to try again. Nil when no number is due.
  func makeLeadForNextUnknownCaller(leads: any LeadCreating, defaultOwner: String, now: Date) async throws
    -> LeadAttempt?
  {
    try await client.withTransaction(logger: logger) { connection in
      let rows = try await connection.query(
        """
        SELECT number, manager_id, attempts FROM unknown_callers
        WHERE lead_id IS NULL AND next_attempt_at <= \(now)
        ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED
        """, logger: logger)
      guard
        let (number, manager, attempts) = try await rows.decode((String, String, Int32).self).first(where: { _ in true }
        )
      else { return nil }
      let request = UnknownCallerLead.request(number: number, owner: manager.isEmpty ? defaultOwner : manager)
      do {
        let lead = try await leads.createLead(request, requestID: UnknownCallerLead.requestID(number: number))
        _ = try await connection.query(
          """
          UPDATE unknown_callers SET lead_id = \(lead.id), attempts = attempts + 1, last_error = ''
          WHERE number = \(number)
          """, logger: logger
        ).collect()
        let calls = try await connection.query(
          """
          UPDATE communications SET lead_id = \(lead.id)
          WHERE counterpart = \(number) AND channel = 'telephony' AND lead_id IS NULL AND activity_id IS NULL
          RETURNING id
          """, logger: logger
        ).collect()
        return .created(number: number, leadID: lead.id, calls: calls.count)
      } catch {
        let retryIn = UnknownCallerLead.backoff(attempts: Int(attempts) + 1)
        let message = String(String(describing: error).prefix(500))
        _ = try await connection.query(
          """
          UPDATE unknown_callers SET attempts = attempts + 1, last_error = \(message),
            next_attempt_at = \(now.addingTimeInterval(retryIn))
          WHERE number = \(number)
          """, logger: logger
        ).collect()
        return .failed(number: number, error: message, retryIn: retryIn)
      }
    }
  }
}
