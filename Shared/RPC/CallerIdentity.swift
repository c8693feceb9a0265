import GRPCCore

/// Who is calling: sent by clients in the `crm-caller` metadata entry, read by handlers through
/// `CallerIdentity.current` (set for the handler's task by the runtime's `RequestContextInterceptor`).
public enum CallerIdentity {
  public static let metadataKey = "crm-caller"

  @TaskLocal public static var current: String?
}

/// Client side: stamps every call with the caller's identity.
public struct CallerIdentityClientInterceptor: ClientInterceptor {
  public var caller: String

  public init(caller: String) {
    self.caller = caller
  }

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    request.metadata.replaceOrAddString(caller, forKey: CallerIdentity.metadataKey)
    return try await next(request, context)
  }
}
