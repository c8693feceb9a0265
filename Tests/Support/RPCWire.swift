/// The request-record format of the Kafka RPC transport as a peer sees it (DESIGN §4), written
/// out independently of `CRMRPC` so tests can build any record, well-formed or not.
public enum RPCWire {
  public static let method = "crm-rpc-method"
  public static let correlationID = "crm-rpc-correlation-id"
  public static let replyTo = "crm-rpc-reply-to"
  public static let deadline = "crm-rpc-deadline"
  public static let status = "crm-rpc-status"
  public static let message = "crm-rpc-message"
  public static let requestMetadataPrefix = "crm-md:"
  public static let deadLetterError = "crm-dlq-error"

  /// Messages as `[UInt32 big-endian length][bytes]…`.
  public static func frame(_ messages: [[UInt8]]) -> [UInt8] {
    var value: [UInt8] = []
    for message in messages {
      let length = UInt32(message.count)
      value += [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
      value += message
    }
    return value
  }
}
