public import GRPCCore
public import SwiftProtobuf

/// One unary method as data: who serves it, its descriptor and its message types.
public struct CRMMethod: Sendable {
  /// The executable whose request topic carries the method, e.g. "contacts".
  public var server: String
  public var descriptor: MethodDescriptor
  public var input: any (Message & Sendable).Type
  public var output: any (Message & Sendable).Type

  public init(
    server: String,
    descriptor: MethodDescriptor,
    input: any (Message & Sendable).Type,
    output: any (Message & Sendable).Type
  ) {
    self.server = server
    self.descriptor = descriptor
    self.input = input
    self.output = output
  }

  /// Methods served by `server`, by method name.
  public static func served(by server: String) -> [CRMMethod] {
    catalog.filter { $0.server == server }
  }
}
