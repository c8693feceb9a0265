import CRMContracts
import CRMIdentity
import CRMRPC
import GRPCCore

/// `crm.common.v1.Diagnostics`, served by every service: no database, so it measures the RPC path.
public struct DiagnosticsService: Crm_Common_V1_Diagnostics.SimpleServiceProtocol {
  public var service: CRMService
  public static let maximumDelayMilliseconds: Int32 = 10_000

  public init(service: CRMService) {
    self.service = service
  }

  public func echo(
    request: Crm_Common_V1_EchoRequest,
    context: ServerContext
  ) async throws -> Crm_Common_V1_EchoReply {
    guard (0...Self.maximumDelayMilliseconds).contains(request.delayMs) else {
      throw RPCError(
        code: .invalidArgument,
        message: "delay_ms is \(request.delayMs); expected 0…\(Self.maximumDelayMilliseconds)"
      )
    }
    if request.delayMs > 0 { try await Task.sleep(for: .milliseconds(request.delayMs)) }
    var reply = Crm_Common_V1_EchoReply()
    reply.text = request.text
    reply.payload = request.payload
    reply.servedBy = service.rawValue
    reply.caller = Principal.current?.description ?? ""
    return reply
  }
}
