import CRMDomain

/// An event whose record would not fit under the cap (`OutboxEvent.recordCap`): the write that
/// emits it is refused and nothing is written, because a record the broker refuses would stop
/// its aggregate's events in the relay. The caller's input made it too big: INVALID_ARGUMENT.
public struct EventTooLarge: DomainError, Equatable {
  /// The payload's protobuf name, e.g. "crm.contacts.v1.ContactUpdated".
  public var type: String
  public var aggregateID: String
  /// The record's size as published: key, envelope and headers.
  public var bytes: Int
  public var cap: Int

  public init(type: String, aggregateID: String, bytes: Int, cap: Int) {
    self.type = type
    self.aggregateID = aggregateID
    self.bytes = bytes
    self.cap = cap
  }

  public var status: FailureStatus { .invalidArgument }

  public var description: String {
    "event \(type) of \(aggregateID) would be \(bytes) bytes, over the cap of \(cap) bytes: send less data in one change"
  }
}
