import CRMContracts
import CRMDomain
import Foundation
import SwiftProtobuf
import Testing

@testable import ActivityService

/// The pure rules of activities: the attribute catalogue and the checks of what clients send.
@Suite("Activity input rules")
struct ActivityInputTests {
  static let catalogue = AttributeCatalogue([
    AttributeDefinition(
      key: "meeting_place", label: "Place", type: .choice, choices: ["Office", "Client site"], retired: false),
    AttributeDefinition(key: "weather", label: "Weather", type: .text, choices: [], retired: false),
    AttributeDefinition(key: "arrival_delay_min", label: "Delay", type: .number, choices: [], retired: false),
    AttributeDefinition(key: "arrived_at", label: "Arrived", type: .time, choices: [], retired: false),
    AttributeDefinition(key: "old_flag", label: "Old", type: .text, choices: [], retired: true),
  ])

  static func value(_ set: (inout Crm_Activity_V1_AttributeValue) -> Void) -> Crm_Activity_V1_AttributeValue {
    var value = Crm_Activity_V1_AttributeValue()
    set(&value)
    return value
  }

  /// The field and reason of the refusal of `body`, nil when it passes.
  static func refusal(_ body: () throws -> Void) -> InvalidField? {
    do {
      try body()
      return nil
    } catch let error as InvalidField {
      return error
    } catch {
      Issue.record("not an InvalidField: \(error)")
      return nil
    }
  }

  @Test func aContextIsCheckedKeyByKeyAgainstTheCatalogue() throws {
    let checked = try Self.catalogue.check([
      "meeting_place": Self.value { $0.choice = "  client SITE " },
      "weather": Self.value { $0.text = "дождь" },
      "arrival_delay_min": Self.value { $0.number = 15 },
      "arrived_at": Self.value { $0.time = .with { $0.seconds = 1_764_000_000 } },
    ])
    // A choice is stored as the catalogue spells it.
    #expect(checked["meeting_place"] == .choice("Client site"))
    #expect(checked["weather"] == .text("дождь"))
    #expect(checked["arrival_delay_min"] == .number(15))
    #expect(checked["arrived_at"] == .time(.with { $0.seconds = 1_764_000_000 }))

    // An unknown key names the catalogue and what it holds (not the retired key).
    let unknown = try #require(Self.refusal { _ = try Self.catalogue.check(["mood": Self.value { $0.text = "good" }]) })
    #expect(unknown.field == "context[\"mood\"]")
    #expect(unknown.reason.contains("attribute catalogue"), "\(unknown)")
    #expect(unknown.reason.contains("arrival_delay_min, arrived_at, meeting_place, weather"), "\(unknown)")
    #expect(unknown.reason.contains("DefineAttribute"))
    // A hostile key is quoted, escaped and cut in the field name.
    let hostile = try #require(
      Self.refusal {
        _ = try Self.catalogue.check([String(repeating: "\u{202E}x", count: 100): Self.value { $0.text = "a" }])
      })
    #expect(!hostile.field.contains("\u{202E}") && hostile.field.hasSuffix("…\"]"), "\(hostile.field)")

    let cases: [(String, Crm_Activity_V1_AttributeValue, String)] = [
      ("weather", Self.value { $0.number = 3 }, "the attribute catalogue makes it text"),
      ("arrival_delay_min", Self.value { $0.text = "15" }, "the attribute catalogue makes it number"),
      ("arrival_delay_min", Self.value { $0.number = .nan }, "finite"),
      ("arrival_delay_min", Self.value { $0.number = .infinity }, "finite"),
      ("arrival_delay_min", Self.value { $0.number = 1e300 }, "finite"),
      ("meeting_place", Self.value { $0.choice = "Cafe" }, "Office, Client site"),
      ("meeting_place", Self.value { $0.text = "Office" }, "makes it choice"),
      ("arrived_at", Self.value { $0.time = .with { $0.seconds = .max } }, "years 1 to 9999"),
      ("arrived_at", Self.value { $0.time = .with { $0.nanos = -1 } }, "999999999"),
      ("weather", Self.value { $0.text = "sun\u{0}" }, "NUL"),
      ("weather", Self.value { $0.text = "sun\u{202E}nur" }, "bidirectional"),
      ("weather", Self.value { $0.text = "a\nb" }, "line break"),
      ("weather", Crm_Activity_V1_AttributeValue(), "is empty"),
      ("old_flag", Self.value { $0.text = "x" }, "retired"),
    ]
    for (key, value, expected) in cases {
      let refused = try #require(Self.refusal { _ = try Self.catalogue.check([key: value]) }, "\(key) \(value)")
      #expect(refused.field.hasPrefix("context[\"\(key)\"]"), "\(refused)")
      #expect(refused.reason.contains(expected), "\(key): \(refused.reason)")
    }
    let tooMany = Dictionary(
      uniqueKeysWithValues: (0...AttributeCatalogue.contextLimit).map { ("k\($0)", Self.value { $0.text = "v" }) })
    #expect(Self.refusal { _ = try Self.catalogue.check(tooMany) }?.field == "context")
  }

  @Test func anAttributeDefinitionHasAKeyALabelATypeAndForAChoiceItsValues() throws {
    let place = try AttributeDefinition.validate(
      .with {
        $0.key = "meeting_place"
        $0.label = " Where we met "
        $0.type = .choice
        $0.choices = ["Office", "Client site"]
      })
    #expect(place.label == "Where we met" && place.choices == ["Office", "Client site"])

    func refused(_ set: (inout Crm_Activity_V1_DefineAttributeRequest) -> Void) -> InvalidField? {
      var request = Crm_Activity_V1_DefineAttributeRequest.with {
        $0.key = "weather"
        $0.label = "Weather"
        $0.type = .text
      }
      set(&request)
      return Self.refusal { _ = try AttributeDefinition.validate(request) }
    }
    #expect(refused { _ in } == nil)
    for key in ["", "Weather", "1st", "_x", "a-b", "погода", String(repeating: "a", count: 65), "a\u{0}"] {
      #expect(refused { $0.key = key }?.field == "key", "\(key)")
    }
    #expect(refused { $0.key = String(repeating: "a", count: 64) } == nil)
    #expect(refused { $0.label = "" }?.field == "label")
    #expect(refused { $0.label = "W\u{2066}x" }?.reason.contains("bidirectional") == true)
    #expect(refused { $0.type = .unspecified }?.field == "type")
    #expect(refused { $0.type = .UNRECOGNIZED(42) }?.field == "type")
    #expect(refused { $0.choices = ["a"] }?.field == "choices")
    #expect(refused { $0.type = .choice }?.field == "choices")
    #expect(
      refused {
        $0.type = .choice
        $0.choices = ["Office", "office"]
      }?.field == "choices[1]")
    #expect(
      refused {
        $0.type = .choice
        $0.choices = (0...AttributeDefinition.choiceLimit).map { "c\($0)" }
      }?.field == "choices")

    // A revision keeps the type.
    var number = place
    number.type = .number
    #expect(throws: RuleBroken.self) { try number.checkRevision(of: place) }
    var renamed = place
    renamed.label = "Place"
    renamed.choices.append("Exhibition")
    try renamed.checkRevision(of: place)
  }

  @Test func anActivityNamesItsKindWhatItIsAboutAndWhenItHappened() throws {
    let now = Date(timeIntervalSince1970: 1_764_600_000)
    let contact = UUID().uuidString
    func refused(_ set: (inout Crm_Activity_V1_LogActivityRequest) -> Void) -> InvalidField? {
      var request = Crm_Activity_V1_LogActivityRequest.with {
        $0.kind = .call
        $0.contactID = contact
        $0.text = "Called about the trailer"
      }
      set(&request)
      return Self.refusal { _ = try ActivityInput.newActivity(request, now: now) }
    }
    let logged = try ActivityInput.newActivity(
      .with {
        $0.kind = .meeting
        $0.dealID = contact
        $0.text = " Line one\r\nline two "
      }, now: now)
    #expect(logged.occurredAt == now && logged.contactID == nil && logged.text == "Line one\nline two")

    #expect(refused { _ in } == nil)
    #expect(refused { $0.kind = .unspecified }?.field == "kind")
    #expect(refused { $0.kind = .UNRECOGNIZED(99) }?.reason.contains("ACTIVITY_KIND_NOTE") == true)
    #expect(refused { $0.contactID = "" }?.field == "contact_id")
    #expect(refused { $0.contactID = "not-an-id" }?.field == "contact_id")
    #expect(refused { $0.dealID = "x\u{0}" }?.field == "deal_id")
    #expect(refused { $0.text = "a\u{0}b" }?.reason.contains("NUL") == true)
    #expect(refused { $0.text = "a\u{202E}b" }?.reason.contains("bidirectional") == true)
    #expect(refused { $0.text = "\u{7}" }?.field == "text")
    // Bytes are limited beside characters: one character may stack any number of marks.
    let stacked = "e" + String(repeating: "\u{301}", count: 4 * ActivityInput.textLength)
    #expect(refused { $0.text = stacked }?.reason.contains("bytes") == true)
    #expect(refused { $0.text = String(repeating: "я", count: ActivityInput.textLength + 1) }?.field == "text")
    #expect(refused { $0.text = String(repeating: "я", count: ActivityInput.textLength) } == nil)
    #expect(
      refused {
        $0.kind = .note
        $0.text = "  "
      }?.reason == "is empty")
    #expect(
      refused { $0.occurredAt = Date(timeInterval: 3600, since: now).timestamp }?.reason.contains("future") == true)
    #expect(refused { $0.occurredAt = Date(timeInterval: 60, since: now).timestamp } == nil)
    #expect(refused { $0.occurredAt = .with { $0.seconds = .max } }?.field == "occurred_at.seconds")
    #expect(refused { $0.occurredAt = .with { $0.seconds = .min } }?.field == "occurred_at.seconds")
    #expect(refused { $0.occurredAt = .with { $0.nanos = .max } }?.field == "occurred_at.nanos")
    #expect(refused { $0.occurredAt = .with { $0.seconds = 0 } }?.reason.contains("2000") == true)
  }

  @Test func aTimelineIsOfExactlyOneContactDealOrManager() throws {
    let id = UUID()
    #expect(try TimelineSubject.of(.with { $0.contactID = id.uuidString }) == .contact(id))
    #expect(try TimelineSubject.of(.with { $0.dealID = id.uuidString }) == .deal(id))
    #expect(try TimelineSubject.of(.with { $0.managerID = "manager-1" }) == .manager("manager-1"))
    #expect(Self.refusal { _ = try TimelineSubject.of(.init()) }?.reason.contains("0 given") == true)
    #expect(
      Self.refusal {
        _ = try TimelineSubject.of(
          .with {
            $0.contactID = id.uuidString
            $0.managerID = "m"
          })
      }?.reason.contains("2 given") == true)
    #expect(Self.refusal { _ = try TimelineSubject.of(.with { $0.managerID = "m\u{0}" }) }?.field == "manager_id")
    // Each timeline pages with tokens of its own.
    #expect(TimelineSubject.contact(id).scope != TimelineSubject.deal(id).scope)
  }

  @Test func aStoredContextReadsBackAsItWasChecked() throws {
    let context: [String: ContextValue] = [
      "a": .text("Привет \"мир\""), "b": .number(-12.5),
      "c": .time(
        .with {
          $0.seconds = 1_764_000_000
          $0.nanos = 123_456_789
        }), "d": .choice("Office"),
    ]
    let json = try StoredValue.json(context)
    let read = try StoredValue.context(json)
    #expect(read == context.mapValues(\.message))
  }
}
