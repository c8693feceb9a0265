import CRMContracts
import CRMRPC
import Foundation
import GRPCCore
import GRPCProtobuf
import SwiftProtobuf

/// One unary call whose message types come from the catalog at run time.
enum MethodCall {
  static func call(_ method: CRMMethod, json: String, client: GRPCClient<KafkaClientTransport>) async throws -> String {
    try await call(method.input, method.output, descriptor: method.descriptor, json: json, client: client)
  }

  private static func call<Input: Message & Sendable, Output: Message & Sendable>(
    _ input: Input.Type,
    _ output: Output.Type,
    descriptor: MethodDescriptor,
    json: String,
    client: GRPCClient<KafkaClientTransport>
  ) async throws -> String {
    let request: Input
    do {
      request = try Input(jsonString: json.isEmpty ? "{}" : json)
    } catch {
      throw RPCError(
        code: .invalidArgument, message: "the request is not a \(Input.protoMessageName) in JSON: \(error)")
    }
    let reply = try await client.unary(
      request: ClientRequest(message: request),
      descriptor: descriptor,
      serializer: ProtobufSerializer<Input>(),
      deserializer: ProtobufDeserializer<Output>(),
      options: .defaults
    ) { try $0.message }
    return try pretty(reply.jsonString())
  }

  /// Indented, with sorted keys, for people reading a terminal.
  static func pretty(_ json: String) throws -> String {
    let object = try JSONSerialization.jsonObject(with: Data(json.utf8))
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    return String(decoding: data, as: UTF8.self)
  }
}
