/// A failure reported by librdkafka or by this module's use of it.
public struct KafkaError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    /// The linked librdkafka is too old for the brokers we talk to.
    case unsupportedLibrary
    /// A configuration property was rejected.
    case configuration
    /// The broker did not answer, or answered with an error.
    case broker
    /// A produced record was not stored (e.g. its delivery timed out).
    case delivery
    /// The producer's local queue is full; retry after deliveries drain it.
    case queueFull
    /// The record is larger than the client or the broker accepts (`message.max.bytes`).
    case recordTooLarge
    /// An offset commit failed (e.g. during a rebalance); the records will come again.
    case commit
    /// The producer was replaced (`KafkaProducer.renew`) before the broker confirmed the
    /// record: it may or may not be stored; send it again (consumers skip a second copy).
    case replaced
    /// The client was shut down.
    case shutDown
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }
}
