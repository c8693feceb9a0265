/// Topic names of the RPC layer (DESIGN §4).
public enum RPCTopics {
  /// Requests to a service; its replicas share them through one consumer group of the same name.
  public static func requests(service: String) -> String { "crm.rpc.\(service)" }
  /// Replies to one client instance (one partition, read without a group).
  public static func replies(instance: String) -> String { "crm.rpc.reply.\(instance)" }
  /// Request records the server could not even read.
  public static func deadLetters(service: String) -> String { "crm.dlq.rpc.\(service)" }
}
