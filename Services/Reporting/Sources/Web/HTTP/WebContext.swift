import Hummingbird

/// A web request's context: Hummingbird's core plus the client's address, which failed sign-ins
/// are counted by (the peer of the connection; a proxy in front would make it the proxy's).
public struct WebContext: RequestContext {
  public var coreContext: CoreRequestContextStorage
  public let clientAddress: String

  public init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    clientAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
  }
}
