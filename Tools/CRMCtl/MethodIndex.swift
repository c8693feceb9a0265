import ArgumentParser
import CRMContracts
import SwiftProtobuf

/// The catalog of callable methods, by service and method name.
enum MethodIndex {
  static var servers: [String] {
    var seen: [String] = []
    for method in CRMMethod.catalog where !seen.contains(method.server) { seen.append(method.server) }
    return seen
  }

  /// "Diagnostics/Echo" or "Echo", case-insensitive.
  static func find(service: String, method: String) throws -> CRMMethod {
    let candidates = CRMMethod.served(by: service)
    guard !candidates.isEmpty else {
      throw ValidationError("unknown service \"\(service)\"; expected one of \(servers.joined(separator: ", "))")
    }
    let wanted = method.lowercased()
    let matches = candidates.filter {
      $0.descriptor.method.lowercased() == wanted
        || "\($0.descriptor.service.fullyQualifiedService.split(separator: ".").last ?? "")/\($0.descriptor.method)"
          .lowercased() == wanted
        || $0.descriptor.fullyQualifiedMethod.lowercased() == wanted
    }
    guard matches.count == 1, let match = matches.first else {
      throw ValidationError(
        "\(service) has no method \"\(method)\"; it has \(candidates.map(\.descriptor.method).joined(separator: ", "))"
      )
    }
    return match
  }

  private static func shortName(_ type: any (Message & Sendable).Type) -> String {
    String(type.protoMessageName.split(separator: ".").last ?? "")
  }

  static var helpText: String {
    servers.map { server in
      let methods = CRMMethod.served(by: server).map { method in
        "  \(method.descriptor.method)(\(shortName(method.input))) → \(shortName(method.output))"
      }
      return "\(server):\n" + methods.joined(separator: "\n")
    }.joined(separator: "\n")
  }
}
