import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
public func freeLocalPort() -> Int {
  ClosedPort().port  // released again as soon as it is read
}

/// The IPv4 loopback address with `port` (0: let the kernel pick).
func loopback(port: Int) -> sockaddr_in {
  var address = sockaddr_in()
  address.sin_family = sa_family_t(AF_INET)
  address.sin_addr.s_addr = inet_addr("127.0.0.1")
  address.sin_port = UInt16(port).bigEndian
  return address
}

/// A port on 127.0.0.1 that refuses connections for as long as this value lives: bound, never
/// listening, so no other test can take it meanwhile (a merely free port can be reused at once).
public final class ClosedPort: Sendable {
  public let port: Int
  private let descriptor: Int32

  public init() {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(fd >= 0, "socket() failed")
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
      pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
        precondition(bind(fd, raw, length) == 0, "bind() failed")
        precondition(getsockname(fd, raw, &length) == 0, "getsockname() failed")
      }
    }
    descriptor = fd
    port = Int(UInt16(bigEndian: address.sin_port))
  }

  deinit { close(descriptor) }

  public var address: String { "127.0.0.1:\(port)" }
}
