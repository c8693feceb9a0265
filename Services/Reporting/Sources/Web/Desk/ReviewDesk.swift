import CRMContracts
import CRMIdentity
import CRMRuntime
import GRPCCore

/// Quality-control's reviewer methods, called as the signed-in person: quality-control's own
/// rules (its access policy, the reviewer's lease) decide what he may do, not the edge.
public protocol ReviewDesk: Sendable {
  func nextItem(as person: Principal) async throws -> Crm_Qualitycontrol_V1_NextItemReply
  func submit(_ review: Crm_Qualitycontrol_V1_SubmitReviewRequest, as person: Principal) async throws
    -> Crm_Qualitycontrol_V1_Review
  func stats(as person: Principal) async throws -> Crm_Qualitycontrol_V1_ReviewerStats
}

/// The desk over gRPC: each call carries a short-lived token for the person (role + subject),
/// signed with the service's signing key like the service's own calls (`ServiceCaller`).
/// `client` gives the client to call through for a person (over Kafka: one whose replies come
/// to the person's reply topics, `PersonClients`).
public struct QualityControlDesk<Transport: ClientTransport>: ReviewDesk {
  let issuer: TokenIssuer
  let client: @Sendable (Principal) async throws -> GRPCClient<Transport>
  /// Long enough for one call and its retries; a page mints a new one for each call.
  static var tokenLifetime: Duration { .seconds(120) }

  public init(issuer: TokenIssuer, client: @escaping @Sendable (Principal) async throws -> GRPCClient<Transport>) {
    self.issuer = issuer
    self.client = client
  }

  public func nextItem(as person: Principal) async throws -> Crm_Qualitycontrol_V1_NextItemReply {
    try await qualityControl(person).nextItem(.init(), metadata: try await metadata(person))
  }

  public func submit(_ review: Crm_Qualitycontrol_V1_SubmitReviewRequest, as person: Principal) async throws
    -> Crm_Qualitycontrol_V1_Review
  {
    try await qualityControl(person).submitReview(review, metadata: try await metadata(person))
  }

  public func stats(as person: Principal) async throws -> Crm_Qualitycontrol_V1_ReviewerStats {
    try await qualityControl(person).getReviewerStats(.init(), metadata: try await metadata(person))
  }

  private func qualityControl(_ person: Principal) async throws
    -> Crm_Qualitycontrol_V1_QualityControl.Client<Transport>
  {
    Crm_Qualitycontrol_V1_QualityControl.Client(wrapping: try await client(person))
  }

  private func metadata(_ person: Principal) async throws -> Metadata {
    let token = try await issuer.token(
      for: person, audience: [CRMService.qualityControl.rawValue], lifetime: Self.tokenLifetime)
    var metadata = Metadata()
    metadata.addString(TokenMetadata.scheme + token, forKey: TokenMetadata.key)
    return metadata
  }
}
