import GRPCCore

/// Sends `--request-id` as the call's `crm-request-id`: a service answers a create-like request
/// with that id once, so an operator may repeat a command whose reply was lost without creating
/// twice.
struct RequestIDInterceptor: ClientInterceptor {
  var requestID: String

  func intercept<Input: Sendable, Output: Sendable>(
    request: StreamingClientRequest<Input>,
    context: ClientContext,
    next: (StreamingClientRequest<Input>, ClientContext) async throws -> StreamingClientResponse<Output>
  ) async throws -> StreamingClientResponse<Output> {
    var request = request
    request.metadata.replaceOrAddString(requestID, forKey: "crm-request-id")
    return try await next(request, context)
  }
}
