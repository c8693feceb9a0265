import CRMContracts
import CRMTestSupport
import Foundation
import GRPCCore
import SwiftProtobuf
import Testing

@testable import ContactsService

/// History import (issue 16) in the contacts service: an operator's `occurred_at` is when a
/// lead was created, converted or rejected and when a contact was created — in rows, history,
/// envelopes and payloads; a manager's is refused, and so are times to come, before 2000 or
/// before the lead was created, with nothing written.
@Suite("Contacts history import")
struct ContactsHistoryImportTests {
  static let day: TimeInterval = 86_400

  static func at(_ date: Date) -> Google_Protobuf_Timestamp { Google_Protobuf_Timestamp(date: date) }

  /// A whole second `days` ago (timestamptz keeps microseconds: the times compare exactly).
  static func daysAgo(_ days: Double) -> Date {
    Date(timeIntervalSince1970: (Date().timeIntervalSince1970 - days * day).rounded(.down))
  }

  static func lead(_ name: String, phone: String, at date: Date?) -> Crm_Contacts_V1_CreateLeadRequest {
    .with {
      $0.name = name
      $0.phone = phone
      $0.source = "exhibition"
      $0.ownerID = "manager-1"
      $0.businessLine = "equipment"
      if let date { $0.occurredAt = at(date) }
    }
  }

  @Test func backdatedLeadsKeepTheirTimesWhenConvertedOrRejected() async throws {
    try await ContactsHarness.with(caller: "operator:importer") { context in
      let created = Self.daysAgo(30)
      let converted = Self.daysAgo(25)
      let lead = try await context.contacts.createLead(Self.lead("Пётр Лидов", phone: "+79120000001", at: created))
      #expect(lead.createdAt.date == created && !lead.hasClosedAt)
      let reply = try await context.contacts.convertLead(
        .with {
          $0.leadID = lead.id
          $0.companyName = "ООО Прицеп"
          $0.pipelineID = UUID().uuidString.lowercased()
          $0.expectedVersion = lead.version
          $0.occurredAt = Self.at(converted)
        })
      #expect(reply.lead.closedAt.date == converted && reply.contact.createdAt.date == converted)
      #expect(reply.company.createdAt.date == converted)

      let rejected = Self.daysAgo(10)
      let other = try await context.contacts.createLead(Self.lead("Анна Отказова", phone: "+79120000002", at: created))
      let closed = try await context.contacts.rejectLead(
        .with {
          $0.leadID = other.id
          $0.reason = "no budget"
          $0.expectedVersion = other.version
          $0.occurredAt = Self.at(rejected)
        })
      #expect(closed.closedAt.date == rejected && closed.status == .rejected)

      // Rows: the listing and the card's history.
      let listed = try await context.contacts.listLeads(.with { $0.ownerID = "manager-1" }).leads
      #expect(Set(listed.map(\.createdAt.date)) == [created])
      #expect(Set(listed.map(\.closedAt.date)) == [converted, rejected])
      let contact = try await context.contacts.getContact(.with { $0.contactID = reply.contact.id })
      #expect(contact.createdAt.date == converted)
      let history = try await context.contacts.getCardHistory(.with { $0.cardID = reply.contact.id }).changes
      #expect(!history.isEmpty && history.allSatisfy { $0.changedAt.date == converted })
      let leadHistory = try await context.contacts.getCardHistory(.with { $0.cardID = other.id }).changes
      #expect(leadHistory.map(\.changedAt.date) == [rejected])

      // Envelopes and payloads.
      let createdEvents = try await context.events("crm.contacts.v1.LeadCreated")
      #expect(createdEvents.count == 2 && createdEvents.allSatisfy { $0.occurredAt.date == created })
      let conversion = try #require(try await context.events("crm.contacts.v1.LeadConverted").first)
      #expect(conversion.occurredAt.date == converted)
      #expect(try Crm_Contacts_V1_LeadConverted(serializedBytes: conversion.payload).lead.closedAt.date == converted)
      let contactEvent = try #require(try await context.events("crm.contacts.v1.ContactCreated").first)
      #expect(contactEvent.occurredAt.date == converted)
      #expect(
        try Crm_Contacts_V1_ContactCreated(serializedBytes: contactEvent.payload).contact.createdAt.date == converted)
      let companyEvent = try #require(try await context.events("crm.contacts.v1.CompanyCreated").first)
      #expect(companyEvent.occurredAt.date == converted)
      let rejection = try #require(try await context.events("crm.contacts.v1.LeadRejected").first)
      #expect(rejection.occurredAt.date == rejected)
    }
  }

  @Test func aBackdatedContactIsCreatedThen() async throws {
    try await ContactsHarness.with(caller: "operator:importer") { context in
      let created = Self.daysAgo(50)
      var request = contactRequest("Олег Старый", phones: ["+79120000003"], emails: ["oleg@example.ru"])
      request.position = "Директор"
      request.address = "г. Екатеринбург, ул. Заводская, 5"
      request.birthday = .with {
        $0.year = 1970
        $0.month = 3
        $0.day = 12
      }
      request.notes = "Парк техники: 12 единиц"
      request.occurredAt = Self.at(created)
      let contact = try await context.contacts.createContact(request)
      #expect(contact.createdAt.date == created)
      let event = try #require(try await context.events("crm.contacts.v1.ContactCreated").first)
      #expect(event.occurredAt.date == created)
      let history = try await context.contacts.getCardHistory(.with { $0.cardID = contact.id }).changes
      #expect(!history.isEmpty && history.allSatisfy { $0.changedAt.date == created })
      // An update has no time of its own to import.
      let update = await failure {
        try await context.contacts.updateContact(
          .with {
            $0.contactID = contact.id
            $0.expectedVersion = contact.version
            $0.card = request
          })
      }
      #expect(update.contains("card.occurred_at"), "\(update)")
    }
  }

  @Test func aManagersOccurredAtIsRefused() async throws {
    try await ContactsHarness.with(caller: "manager:manager-1") { context in
      let refused = await statusCode {
        try await context.contacts.createLead(Self.lead("Иван Ранний", phone: "+79120000004", at: Self.daysAgo(3)))
      }
      #expect(refused == .permissionDenied)
      var card = contactRequest("Иван Ранний", phones: ["+79120000004"])
      card.occurredAt = Self.at(Self.daysAgo(3))
      #expect(await statusCode { try await context.contacts.createContact(card) } == .permissionDenied)
      // Without a time the same manager's lead is taken, stamped now.
      let lead = try await context.contacts.createLead(Self.lead("Иван Ранний", phone: "+79120000004", at: nil))
      #expect(abs(lead.createdAt.date.timeIntervalSinceNow) < 60)
      let rejection = await failure {
        try await context.contacts.rejectLead(
          .with {
            $0.leadID = lead.id
            $0.reason = "spam"
            $0.expectedVersion = lead.version
            $0.occurredAt = Self.at(Date())
          })
      }
      #expect(rejection.contains("occurred_at") && rejection.contains("operator"), "\(rejection)")
      #expect(try await context.count("SELECT count(*)::int FROM leads WHERE status = 'open'") == 1)
      #expect(try await context.count("SELECT count(*)::int FROM contacts") == 0)
    }
  }

  @Test func futureOldAndOutOfOrderTimesAreRefusedWithNothingWritten() async throws {
    try await ContactsHarness.with(caller: "operator:importer") { context in
      let created = Self.daysAgo(5)
      let lead = try await context.contacts.createLead(Self.lead("Зоя Ранова", phone: "+79120000005", at: created))
      let times: [(Date, String)] = [
        (Date().addingTimeInterval(Self.day), "in the future"),
        (Date(timeIntervalSince1970: 800_000_000), "before 2000-01-01"),
        (created.addingTimeInterval(-60), "before the last change of lead"),
      ]
      for (date, reason) in times {
        let conversion = await failure {
          try await context.contacts.convertLead(
            .with {
              $0.leadID = lead.id
              $0.pipelineID = UUID().uuidString.lowercased()
              $0.expectedVersion = lead.version
              $0.occurredAt = Self.at(date)
            })
        }
        #expect(conversion.contains("occurred_at") && conversion.contains(reason), "\(conversion)")
        let rejection = await statusCode {
          try await context.contacts.rejectLead(
            .with {
              $0.leadID = lead.id
              $0.reason = "no budget"
              $0.expectedVersion = lead.version
              $0.occurredAt = Self.at(date)
            })
        }
        #expect(rejection == .invalidArgument)
      }
      let future = await statusCode {
        try await context.contacts.createLead(
          Self.lead("Зоя Будущая", phone: "+79120000006", at: Date().addingTimeInterval(Self.day)))
      }
      #expect(future == .invalidArgument)
      #expect(
        try await context.count("SELECT count(*)::int FROM leads WHERE status = 'open' AND closed_at IS NULL") == 1)
      #expect(try await context.count("SELECT count(*)::int FROM leads") == 1)
      #expect(try await context.count("SELECT count(*)::int FROM contacts") == 0)
      #expect(try await context.events("crm.contacts.v1.LeadConverted").isEmpty)
      #expect(try await context.events("crm.contacts.v1.LeadRejected").isEmpty)
    }
  }
}
