/// A service's wish to apply events from other services' topics: becomes an `InboxConsumer`
/// named `name` (its group, its dead letter topic `crm.dlq.<name>`).
public struct InboxSubscription: Sendable {
  public var name: String
  public var topics: [String]
  public var handler: InboxConsumer.Handler

  public init(name: String, topics: [String], handler: @escaping InboxConsumer.Handler) {
    self.name = name
    self.topics = topics
    self.handler = handler
  }
}
