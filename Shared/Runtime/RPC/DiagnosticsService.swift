import CRMContracts
import GRPCCore

/// `crm.common.v1.Diagnostics`, served by every service: no database, so it measures the RPC path.
public struct DiagnosticsService: Crm_Common_V1_Diagnostics.SimpleServiceProtocol {
  public var service: CRMService

  public init(service: CRMService) {
    self.service = service
  }

  public func echo(
    request: Crm_Common_V1_EchoRequest,
    context: ServerContext
  ) async throws -> Crm_Common_V1_EchoReply {
    var reply = Crm_Common_V1_EchoReply()
    reply.text = request.text
    reply.payload = request.payload
    reply.servedBy = service.rawValue
    reply.caller = CallerIdentity.current ?? ""
    return reply
  }
}
