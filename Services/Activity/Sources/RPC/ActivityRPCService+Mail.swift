import CRMContracts
import CRMDomain
import CRMIdentity
import CRMRuntime
import Foundation
import GRPCCore

/// Mail: `SendEmail` logs an e-mail as an activity and, with an SMTP server, queues it for the
/// background sender in the same transaction; `GetEmail` tells where it stands.
extension ActivityRPCService {
  func sendEmail(request: Crm_Activity_V1_SendEmailRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_SendEmailReply
  {
    try await answering {
      let email = try EmailInput.newEmail(request)
      return try await repository.sendEmail(email, sender: mailSender, by: try Principal.verified, now: Date())
    }
  }

  func getEmail(request: Crm_Activity_V1_GetEmailRequest, context: ServerContext) async throws
    -> Crm_Activity_V1_Email
  {
    try await answering {
      try request.requireKnownFields("request")
      return try await repository.email(id: request.emailID)
    }
  }
}

extension ActivityAccess {
  /// Mail is sent by whoever keeps activities, and read by whoever reads timelines.
  static let mail = AccessPolicy([
    service + "SendEmail": AccessPolicy.Rule(AccessPolicy.salesStaff, writes),
    service + "GetEmail": AccessPolicy.Rule(AccessPolicy.salesStaff, reads),
  ])
}
