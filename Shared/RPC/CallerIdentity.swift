import CRMDomain
import GRPCCore

/// Who is calling: sent by clients in the `crm-caller` metadata entry, read by handlers through
/// `CallerIdentity.current` (set for the handler's task by `CallerIdentityInterceptor`).
public enum CallerIdentity {
  public static let metadataKey = "crm-caller"
  /// Longest caller name, in UTF-8 bytes: it is copied into every event and history row.
  public static let byteLimit = 128

  @TaskLocal public static var current: String?
}

/// Server side: makes the call's `crm-caller` available to the handler.
public struct CallerIdentityInterceptor: ServerInterceptor {
  public init() {}

  public func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingServerRequest<Input>,
    context: ServerContext,
    next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
  ) async throws -> StreamingServerResponse<Output> {
    let caller = request.metadata[stringValues: CallerIdentity.metadataKey].first(where: { _ in true })
    if let caller {
      guard caller.utf8.count <= CallerIdentity.byteLimit else {
        throw RPCError(
          code: .invalidArgument,
          message:
            "metadata \(CallerIdentity.metadataKey): has \(caller.utf8.count) bytes; at most \(CallerIdentity.byteLimit)"
        )
      }
      guard caller.unicodeScalars.allSatisfy({ Text.allowed($0, multiline: false) }) else {
        throw RPCError(
          code: .invalidArgument,
          message: "metadata \(CallerIdentity.metadataKey): holds a control or bidirectional character")
      }
    }
    return try await CallerIdentity.$current.withValue(caller) {
      try await next(request, context)
    }
  }
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
