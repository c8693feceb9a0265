/// A service's wish to apply events from other services' topics: becomes an `InboxConsumer`
/// named `name` (its group, its dead letter topic `crm.dlq.<name>`).
public struct InboxSubscription: Sendable {
  public var name: String
  public var topics: [String]
  /// Applies a poll batch's fresh events in record order, in the inbox's transaction.
  public var batchHandler: InboxConsumer.BatchHandler

  /// A subscription that applies events one at a time.
  public init(name: String, topics: [String], handler: @escaping InboxConsumer.Handler) {
    self.init(name: name, topics: topics) { events, connection in
      for event in events { try await handler(event, connection) }
    }
  }

  /// A subscription that applies a batch at once (e.g. stores it with one statement).
  public init(name: String, topics: [String], batchHandler: @escaping InboxConsumer.BatchHandler) {
    self.name = name
    self.topics = topics
    self.batchHandler = batchHandler
  }

  /// The handler of one event (a batch of one).
  public var handler: InboxConsumer.Handler {
    let batchHandler = self.batchHandler
    return { event, connection in try await batchHandler([event], connection) }
  }
}
