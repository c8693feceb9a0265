/// How to reach the Kafka-protocol broker, plus librdkafka properties for special cases.
public struct KafkaConfiguration: Sendable, Equatable {
  /// `host:port` of each bootstrap broker.
  public var bootstrapServers: [String]
  /// Shows up in the broker's logs and metrics; one per process is enough.
  public var clientID: String
  /// Raw librdkafka properties; they override the defaults this module sets.
  public var properties: [String: String]

  public init(bootstrapServers: [String], clientID: String, properties: [String: String] = [:]) {
    self.bootstrapServers = bootstrapServers
    self.clientID = clientID
    self.properties = properties
  }

  /// The properties handed to librdkafka for a client of this configuration.
  func librdkafkaProperties(overriding defaults: [String: String] = [:]) -> [String: String] {
    var all: [String: String] = [
      "bootstrap.servers": bootstrapServers.joined(separator: ","),
      "client.id": clientID,
      // Loopback and LAN latency matters more than a few saved packets.
      "socket.nagle.disable": "true",
      "reconnect.backoff.ms": "100",
      "reconnect.backoff.max.ms": "2000",
    ]
    all.merge(defaults) { _, new in new }
    all.merge(properties) { _, new in new }
    return all
  }
}
