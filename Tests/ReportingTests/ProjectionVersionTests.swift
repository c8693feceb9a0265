import Foundation
import Testing

@testable import ReportingService

/// Which events of a batch apply: each is judged against its aggregate's version as the events
/// before it in the batch left it (pure).
@Suite("Reporting projections: versions within a batch")
struct ProjectionVersionTests {
  func event(_ aggregate: String, _ version: Int64, topic: String = "crm.deals.events") -> StoredEvent {
    StoredEvent(
      eventID: UUID().uuidString, topic: topic, partition: 0, offset: 0, type: "t", aggregateID: aggregate,
      aggregateVersion: version, actor: "test", occurredAt: nil, payload: Data())
  }

  @Test func anEventAppliesOnlyAboveTheVersionBeforeIt() {
    let events = [
      event("a", 1), event("a", 2), event("a", 1), event("b", 5), event("a", 2), event("a", 3),
      event("b", 5, topic: "crm.contacts.events"), event("b", 4),
    ]
    let fresh = AggregateVersions.judge(events, against: [:])
    #expect(fresh.applies == [true, true, false, true, false, true, true, false])
    #expect(fresh.advanced.ordered == [3, 5, 5])

    let stored = AggregateVersions.judge(
      events, against: [.init(topic: "crm.deals.events", aggregateID: "a"): 2])
    #expect(stored.applies == [false, false, false, true, false, true, true, false])
    #expect(stored.advanced.keys.map(\.aggregateID) == ["b", "a", "b"])
  }
}
