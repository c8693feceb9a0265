import CRMContracts
import CRMDatabase
import CRMDomain
import CRMEvents
import CRMIdentity
import Foundation
import Logging
import PostgresNIO
import SwiftProtobuf

/// `ActivityRepository` on the service's PostgreSQL database.
struct PostgresActivityRepository: ActivityRepository {
  let client: PostgresClient
  let logger: Logger
  /// Makes review items of meeting and call reports (issue 15); nil only where no activity is
  /// logged (background sweeps) or in tests that do not look at items.
  var review: ReviewItemMaker? = nil
  /// Writes that arrive together share a commit (`GroupCommit`).
  let commits = ActivityCommits()

  /// Writes one of this service's events to the outbox, in the caller's transaction.
  func publish(
    _ payload: some Message, aggregateID: String, version: Int64, actor: String, on connection: PostgresConnection
  ) async throws {
    try await Outbox.append(
      [try ActivityEvents.event(aggregateID: aggregateID, version: version, actor: actor, payload)],
      on: connection, logger: logger)
  }

  /// What an activity or a task is about, as the directory knows it: the contact (a deal's own
  /// when only the deal is named) and whose it is (the deal's owner, else the contact's).
  /// NOT_FOUND for a contact or deal the service has not learnt of; a deal with another
  /// contact than the one named is refused.
  func subject(contact: UUID?, deal: UUID?, on connection: PostgresConnection) async throws -> (
    contact: UUID, owner: String, what: String
  ) {
    if let deal {
      let rows = try await connection.query(
        "SELECT contact_id, owner_id FROM known_deals WHERE id = \(deal)", logger: logger)
      guard let (dealContact, owner) = try await rows.decode((UUID, String).self).first(where: { _ in true }) else {
        throw NotFound(entity: "deal", id: deal.text)
      }
      if let contact, contact != dealContact {
        throw InvalidField(
          field: "contact_id", reason: "deal \(deal.text) is with contact \(dealContact.text), not \(contact.text)")
      }
      return (dealContact, owner, "deal \(deal.text)")
    }
    guard let contact else { throw InvalidField(field: "contact_id", reason: "is empty and so is deal_id") }
    let rows = try await connection.query("SELECT owner_id FROM known_contacts WHERE id = \(contact)", logger: logger)
    guard let owner = try await rows.decode(String.self).first(where: { _ in true }) else {
      throw NotFound(entity: "contact", id: contact.text)
    }
    return (contact, owner, "contact \(contact.text)")
  }

  /// Refuses a manager acting on another's contact or deal.
  static func checkMay(_ principal: Principal, workOn what: String, ownedBy owner: String) throws(NotYours) {
    guard principal.mayChange(ownedBy: owner) else {
      throw NotYours(what: what, owner: owner, caller: principal.description)
    }
  }
}
